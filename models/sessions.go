package models

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// Session is a server-side session row: a user's or an admin's (anonymous
// sessions live in a sealed cookie, see dbsession). The cookie carries a
// signed random id; only its SHA-256 is stored, so a database leak does not
// leak live sessions.
type Session struct {
	IDHash     string    `gorm:"column:id_hash;primaryKey"`
	Kind       string    `gorm:"column:kind"`
	UserID     *int64    `gorm:"column:user_id"`
	AdminID    *int64    `gorm:"column:admin_id"`
	Data       []byte    `gorm:"column:data"`
	IP         string    `gorm:"column:ip"`
	UserAgent  string    `gorm:"column:user_agent"`
	CreatedAt  time.Time `gorm:"column:created_at"`
	LastSeenAt time.Time `gorm:"column:last_seen_at"`
	ExpiresAt  time.Time `gorm:"column:expires_at"`
	// User is the session's user when it was read with the session
	// (SessionWithUserByHash): nil otherwise, or when user_id names no
	// user. Not a column.
	User *User `gorm:"-"`
}

// TableName pins the table name.
func (Session) TableName() string { return "sessions" }

// Session kinds (sessions.kind).
const (
	SessionUser        = "user"
	SessionAdmin       = "admin"
	SessionMiniProgram = "miniprogram" // a mini program's bearer token (dbsession.Bearer)
)

// sessionColumns are Session's columns in field order, for the queries
// that scan without GORM (a test keeps them in step with the struct).
const sessionColumns = "id_hash, kind, user_id, admin_id, data, ip, user_agent, created_at, last_seen_at, expires_at"

// SessionByHash loads a session of a kind, or ErrNotFound. Every request
// with a cookie runs it: one statement, scanned without GORM's statement
// building and reflective scan, the same on both dialects.
func (db *DB) SessionByHash(ctx context.Context, idHash, kind string) (*Session, error) {
	var s Session
	err := db.queryRow(ctx, db.query(&sessionByHashQ), idHash, kind).
		Scan(&s.IDHash, &s.Kind, &s.UserID, &s.AdminID, &s.Data, &s.IP, &s.UserAgent, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &s, nil
}

var sessionByHashQ = newQuery(`SELECT ` + sessionColumns + ` FROM sessions WHERE id_hash = ? AND kind = ?`)

// SessionWithUserByHash loads a user session (kind SessionUser) and its
// user in one statement, or ErrNotFound: a logged-in page needs both, and
// reading them apart was two of the profile page's two round trips.
// Session.User is nil when the row has no user_id or the user is gone.
func (db *DB) SessionWithUserByHash(ctx context.Context, idHash string) (*Session, error) {
	var (
		s        Session
		u        User
		uid      sql.Null[int64]
		sex      sql.Null[int64]
		logins   sql.Null[int64]
		disabled sql.Null[bool]
		created  sql.Null[time.Time]
		updated  sql.Null[time.Time]
		strs     [10]sql.Null[string]
	)
	err := db.queryRow(ctx, db.query(&sessionWithUserQ), idHash, SessionUser).Scan(
		&s.IDHash, &s.Kind, &s.UserID, &s.AdminID, &s.Data, &s.IP, &s.UserAgent, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt,
		// userColumns, in order; NULL throughout when there is no user.
		&uid, &strs[0], &u.UnionID, &strs[1], &sex, &strs[2], &strs[3], &strs[4], &strs[5], &strs[6], &strs[7], &strs[8],
		&u.AccessTokenEnc, &u.AccessTokenExpiresAt, &u.RefreshTokenEnc, &u.RefreshTokenExpiresAt,
		&disabled, &created, &updated, &u.LastLoginAt, &logins, &u.ProfileUpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if uid.Valid {
		u.ID = uid.V
		u.OpenID, u.Nickname = strs[0].V, strs[1].V
		u.Sex = int(sex.V)
		u.Province, u.City, u.Country, u.AvatarURL = strs[2].V, strs[3].V, strs[4].V, strs[5].V
		u.Privilege, u.Language, u.Scope = strs[6].V, strs[7].V, strs[8].V
		u.Disabled, u.CreatedAt, u.UpdatedAt, u.LoginCount = disabled.V, created.V, updated.V, int(logins.V)
		s.User = &u
	}
	return &s, nil
}

// sessionWithUserQ: users' columns are userColumns, each prefixed (both
// tables have created_at); openid NULL (a mini-program-only user) reads as
// "" as in userSelect.
var sessionWithUserQ = newQuery(`SELECT ` + prefixColumns("s.", sessionColumns) + `, ` + prefixColumns("u.", userColumns) +
	` FROM sessions s LEFT JOIN users u ON u.id = s.user_id WHERE s.id_hash = ? AND s.kind = ?`)

// prefixColumns qualifies each column of a list with a table alias.
func prefixColumns(alias, columns string) string {
	return alias + strings.ReplaceAll(columns, ", ", ", "+alias)
}

// InsertSession stores a new session. A row with the same id is kept as it
// is: random ids never meet, and a login's derived id (dbsession.SaveLogin)
// is written once by whichever duplicate request of the login comes first.
func (db *DB) InsertSession(ctx context.Context, s *Session) error {
	_, err := db.exec(ctx, db.query(&insertSessionQ),
		s.IDHash, s.Kind, s.UserID, s.AdminID, s.Data, s.IP, s.UserAgent,
		s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC())
	return err
}

var insertSessionQ = newQuery(`INSERT INTO sessions (` + sessionColumns + `)
	    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id_hash) DO NOTHING`)

// ReplaceSession ends the session oldHash and stores s. A login renews the
// session id on every callback; in the common case (the old row is there,
// the new id is not) that is one UPDATE moving the old row to the new id
// and content, on both dialects. Otherwise (the old row is gone, or a
// duplicate request of the same login wrote the new id first) it is what
// it means: delete the old row, insert the new one unless it exists.
func (db *DB) ReplaceSession(ctx context.Context, oldHash string, s *Session) error {
	n, err := db.exec(ctx, db.query(&replaceSessionQ),
		s.IDHash, s.Kind, s.UserID, s.AdminID, s.Data, s.IP, s.UserAgent,
		s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC(), oldHash, s.IDHash)
	if err == nil && n == 1 {
		return nil
	}
	// A unique violation (the new id inserted between the check and the
	// update) ends here too; the statements below settle it.
	if err := db.DeleteSession(ctx, oldHash); err != nil {
		return err
	}
	return db.InsertSession(ctx, s)
}

var replaceSessionQ = newQuery(`UPDATE sessions SET id_hash = ?, kind = ?, user_id = ?, admin_id = ?, data = ?, ip = ?, user_agent = ?,
	    created_at = ?, last_seen_at = ?, expires_at = ?
	WHERE id_hash = ? AND NOT EXISTS (SELECT 1 FROM sessions WHERE id_hash = ?)`)

// UpdateSession stores a session's data and owner.
func (db *DB) UpdateSession(ctx context.Context, s *Session) error {
	res := db.Gorm.WithContext(ctx).Model(&Session{}).Where("id_hash = ?", s.IDHash).Updates(map[string]any{
		"data": s.Data, "user_id": s.UserID, "admin_id": s.AdminID, "last_seen_at": s.LastSeenAt.UTC(),
	})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// TouchSession moves last_seen_at forward (idle timeout bookkeeping).
func (db *DB) TouchSession(ctx context.Context, idHash string, at time.Time) error {
	return db.Gorm.WithContext(ctx).Model(&Session{}).Where("id_hash = ?", idHash).
		UpdateColumn("last_seen_at", at.UTC()).Error
}

// DeleteSession ends one session.
func (db *DB) DeleteSession(ctx context.Context, idHash string) error {
	return db.Gorm.WithContext(ctx).Where("id_hash = ?", idHash).Delete(&Session{}).Error
}

// DeleteUserSessions ends every session of a user and says how many. The
// user's computer logins by QR code are ordinary sessions and end here too;
// an approval no computer has collected yet is withdrawn first.
func (db *DB) DeleteUserSessions(ctx context.Context, userID int64) (int64, error) {
	if err := db.revokeUserQRLogins(ctx, userID); err != nil {
		return 0, err
	}
	res := db.Gorm.WithContext(ctx).Where("user_id = ?", userID).Delete(&Session{})
	return res.RowsAffected, res.Error
}

// DeleteAdminSessions ends every session of an admin.
func (db *DB) DeleteAdminSessions(ctx context.Context, adminID int64) (int64, error) {
	res := db.Gorm.WithContext(ctx).Where("admin_id = ?", adminID).Delete(&Session{})
	return res.RowsAffected, res.Error
}

// UserSessions lists a user's live sessions, newest first.
func (db *DB) UserSessions(ctx context.Context, userID int64, now time.Time) ([]Session, error) {
	var out []Session
	err := db.Gorm.WithContext(ctx).Select("id_hash", "kind", "user_id", "ip", "user_agent", "created_at", "last_seen_at", "expires_at").
		Where("user_id = ? AND expires_at > ?", userID, now.UTC()).Order("last_seen_at DESC").Limit(50).Find(&out).Error
	return out, err
}

// anonymousRowTTL is how long an anonymous session row (no user, no admin)
// is of any use: its login states die after 10 minutes (dbsession's
// AnonymousMaxAge). Such rows are no longer written, anonymous sessions
// live in a sealed cookie; this purges the ones an older version wrote
// (before an upgrade, or by an old instance during a rolling one) instead of
// keeping them for the 7-day idle timeout.
const anonymousRowTTL = 10 * time.Minute

// PurgeExpiredSessions deletes sessions past their absolute expiry or idle
// for longer than idle, and anonymous rows past anonymousRowTTL. Safe to run
// on every instance at once.
func (db *DB) PurgeExpiredSessions(ctx context.Context, now time.Time, idle time.Duration) (int64, error) {
	res := db.Gorm.WithContext(ctx).Where(
		"expires_at < ? OR last_seen_at < ? OR (user_id IS NULL AND admin_id IS NULL AND last_seen_at < ?)",
		now.UTC(), now.Add(-idle).UTC(), now.Add(-anonymousRowTTL).UTC()).Delete(&Session{})
	return res.RowsAffected, res.Error
}

// query is a statement written once, with ? placeholders, for both
// dialects, and its Postgres form ($n), rebound once rather than per call.
type query struct{ text, postgres string }

func newQuery(q string) query {
	return query{text: q, postgres: dollarPlaceholders(q)}
}

// query returns q's text for db's dialect.
func (db *DB) query(q *query) string {
	if db.Dialect == "postgres" {
		return q.postgres
	}
	return q.text
}
