package models

import (
	"context"
	"database/sql"
	"errors"
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

// SessionByHash loads a session of a kind, or ErrNotFound.
func (db *DB) SessionByHash(ctx context.Context, idHash, kind string) (*Session, error) {
	var s Session
	if db.Dialect == "postgres" {
		// Every request with a cookie runs this: on Postgres it skips GORM's
		// statement building and reflective scan (a third of its cost).
		err := db.SQL.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id_hash = $1 AND kind = $2`, idHash, kind).
			Scan(&s.IDHash, &s.Kind, &s.UserID, &s.AdminID, &s.Data, &s.IP, &s.UserAgent, &s.CreatedAt, &s.LastSeenAt, &s.ExpiresAt)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, ErrNotFound
		}
		if err != nil {
			return nil, err
		}
		return &s, nil
	}
	if err := db.Gorm.WithContext(ctx).Where("id_hash = ? AND kind = ?", idHash, kind).Take(&s).Error; err != nil {
		return nil, notFound(err)
	}
	return &s, nil
}

// InsertSession stores a new session. A row with the same id is kept as it
// is: random ids never meet, and a login's derived id (dbsession.SaveLogin)
// is written once by whichever duplicate request of the login comes first.
func (db *DB) InsertSession(ctx context.Context, s *Session) error {
	return db.Gorm.WithContext(ctx).Exec(`INSERT INTO sessions (id_hash, kind, user_id, admin_id, data, ip, user_agent, created_at, last_seen_at, expires_at)
	    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id_hash) DO NOTHING`,
		s.IDHash, s.Kind, s.UserID, s.AdminID, s.Data, s.IP, s.UserAgent,
		s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()).Error
}

// ReplaceSession ends the session oldHash and stores s, on Postgres in one
// statement: a login renews the session id on every callback, and the
// DELETE and INSERT were two of its round trips.
func (db *DB) ReplaceSession(ctx context.Context, oldHash string, s *Session) error {
	if db.Dialect != "postgres" {
		if err := db.DeleteSession(ctx, oldHash); err != nil {
			return err
		}
		return db.InsertSession(ctx, s)
	}
	return db.Gorm.WithContext(ctx).Exec(`WITH gone AS (DELETE FROM sessions WHERE id_hash = ?)
	    INSERT INTO sessions (id_hash, kind, user_id, admin_id, data, ip, user_agent, created_at, last_seen_at, expires_at)
	    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id_hash) DO NOTHING`,
		oldHash, s.IDHash, s.Kind, s.UserID, s.AdminID, s.Data, s.IP, s.UserAgent,
		s.CreatedAt.UTC(), s.LastSeenAt.UTC(), s.ExpiresAt.UTC()).Error
}

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
