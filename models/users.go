package models

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"gorm.io/gorm"
)

// User is a person who logged in at least once, in the web (Official
// Account) or the mini program; Identities lists the openids per app.
// OpenID is the Official Account openid, "" for a person known only from
// the mini program (the column is NULL then).
type User struct {
	ID                    int64      `gorm:"column:id;primaryKey"`
	OpenID                string     `gorm:"column:openid"`
	UnionID               *string    `gorm:"column:unionid"`
	Nickname              string     `gorm:"column:nickname"`
	Sex                   int        `gorm:"column:sex"`
	Province              string     `gorm:"column:province"`
	City                  string     `gorm:"column:city"`
	Country               string     `gorm:"column:country"`
	AvatarURL             string     `gorm:"column:avatar_url"`
	Privilege             string     `gorm:"column:privilege"`
	Language              string     `gorm:"column:language"`
	Scope                 string     `gorm:"column:scope"`
	AccessTokenEnc        []byte     `gorm:"column:access_token_enc"`
	AccessTokenExpiresAt  *time.Time `gorm:"column:access_token_expires_at"`
	RefreshTokenEnc       []byte     `gorm:"column:refresh_token_enc"`
	RefreshTokenExpiresAt *time.Time `gorm:"column:refresh_token_expires_at"`
	Disabled              bool       `gorm:"column:disabled"`
	CreatedAt             time.Time  `gorm:"column:created_at"`
	UpdatedAt             time.Time  `gorm:"column:updated_at"`
	LastLoginAt           *time.Time `gorm:"column:last_login_at"`
	LoginCount            int        `gorm:"column:login_count"`
	// ProfileUpdatedAt is when WeChat last gave the profile (nil: never,
	// e.g. only silent snsapi_base logins so far). UpdatedAt is the row's
	// own time, which disabling or enabling moves too.
	ProfileUpdatedAt *time.Time `gorm:"column:profile_updated_at"`
}

// TableName pins the table name so GORM's pluralisation never guesses.
func (User) TableName() string { return "users" }

// userColumns are User's columns in field order, for the queries that scan
// without GORM (a test keeps them in step with the struct).
const userColumns = "id, openid, unionid, nickname, sex, province, city, country, avatar_url, privilege, language, scope, " +
	"access_token_enc, access_token_expires_at, refresh_token_enc, refresh_token_expires_at, " +
	"disabled, created_at, updated_at, last_login_at, login_count, profile_updated_at"

// Profile is what WeChat's userinfo tells about a user.
type Profile struct {
	Nickname  string
	Sex       int
	Province  string
	City      string
	Country   string
	AvatarURL string
	Privilege string // JSON array
	Language  string
}

// userSelect is userColumns for a scan into User: a mini-program-only user
// has no Official Account openid (NULL), read as "".
var userSelect = strings.Replace(userColumns, "openid,", "COALESCE(openid, '') AS openid,", 1)

// Login is everything one successful code exchange learns about a user.
type Login struct {
	// App is the identity's app: AppOA ("" means it too) for the web login,
	// AppMini for the mini program. AppID is that app's appid.
	App                   string
	AppID                 string
	OpenID                string
	UnionID               string
	Scope                 string
	Profile               *Profile // nil for snsapi_base: the stored profile is kept
	AccessTokenEnc        []byte
	AccessTokenExpiresAt  time.Time
	RefreshTokenEnc       []byte
	RefreshTokenExpiresAt time.Time
	// SessionKeyEnc is the mini program's session_key sealed with TOKEN_KEY.
	SessionKeyEnc []byte
	At            time.Time
	// Refresh marks a logged-in person's 刷新资料 (or sharing the profile
	// after a silent login): the profile and tokens are stored, but it is
	// not another login, so 登录次数 and 最近登录 stay.
	Refresh bool
}

// RecordLogin stores a login and returns the user's id and whether it is
// disabled. A web login (App AppOA) upserts the user by its Official Account
// openid, as it always did (the UNIQUE constraint on users.openid
// arbitrates concurrent first logins); a first web login whose unionid a
// mini-program-only user has joins that user instead. A mini program login
// (AppMini) finds its user by identity, then by unionid, else makes one.
// Either way the app's identity row records the login and how it was linked.
// When the login's unionid shows that two users are one person (a web user
// given the unionid of a mini-program-only user, or the reverse), they are
// merged first (models/merge.go) and the survivor's id is returned.
//
// Only a web login counts as one: a disabled user's attempt (refused by the
// caller on the returned flag) and a profile refresh (l.Refresh) leave
// last_login_at and login_count (and a disabled user's profile and tokens)
// as they were.
func (db *DB) RecordLogin(ctx context.Context, l Login) (id int64, disabled bool, err error) {
	if l.App == AppMini {
		return db.recordMiniLogin(ctx, l)
	}
	if db.Dialect == "postgres" {
		// Most logins need no linking: one statement, no transaction.
		var ok bool
		if id, disabled, ok, err = db.recordWebLoginFast(ctx, l); err != nil || ok {
			return id, disabled, err
		}
	}
	return db.recordWebLoginLinked(ctx, l)
}

// recordWebLoginLinked is RecordLogin's transaction for a web login that may
// link or merge identities (every web login on SQLite): under the unionid's
// lock it finds the person's other user, if any, and upserts the user and
// its Official Account identity.
func (db *DB) recordWebLoginLinked(ctx context.Context, l Login) (id int64, disabled bool, err error) {
	err = db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := db.lockUnionID(tx, l.UnionID); err != nil {
			return err
		}
		linked := LinkedFirst
		known, uid, err := webLoginTarget(tx, l.OpenID, l.UnionID)
		if err != nil {
			return err
		}
		switch {
		case known == 0 && uid != 0:
			// The person used the mini program first: this openid becomes
			// that user's, and the upsert below updates it.
			if err := tx.Exec(`UPDATE users SET openid = ? WHERE id = ?`, l.OpenID, uid).Error; err != nil {
				return err
			}
			linked = LinkedUnionID
			// Any other user without the openid holding the unionid is the
			// same person too (none unless from before merging existed).
			if err := db.absorbUnionHolders(tx, uid, l.UnionID, l.At); err != nil {
				return err
			}
		case known != 0 && uid != 0:
			// A known web user is given a unionid that a user without an
			// Official Account openid holds (the mini program came first,
			// the first web login was silent): one person, one user
			// (models/merge.go). The web user survives.
			if err := db.absorbUnionHolders(tx, known, l.UnionID, l.At); err != nil {
				return err
			}
		}
		if db.Dialect == "postgres" {
			// The user and its identity in one statement.
			var ok bool
			id, disabled, ok, err = webUpsert(tx, l, true, linked)
			if err == nil && !ok {
				err = errors.New("models: the web login's upsert returned no user")
			}
			return err
		}
		id, disabled, err = upsertWebUser(tx, l)
		if err != nil {
			return err
		}
		return upsertIdentity(tx, id, AppOA, l.AppID, l.OpenID, l.UnionID, linked, nil, l.At.UTC(), !disabled && !l.Refresh)
	})
	return id, disabled, err
}

// userUpsertArgs are the values of the upsert's new row, in userInsert's
// column order.
func userUpsertArgs(l Login) []any {
	var unionid *string
	if l.UnionID != "" {
		unionid = &l.UnionID
	}
	p := l.Profile
	if p == nil {
		p = &Profile{Privilege: "[]"}
	}
	if p.Privilege == "" {
		p.Privilege = "[]"
	}
	at := l.At.UTC()
	var profileAt *time.Time
	if l.Profile != nil {
		profileAt = &at
	}
	return []any{l.OpenID, unionid, p.Nickname, p.Sex, p.Province, p.City, p.Country, p.AvatarURL, p.Privilege, p.Language, l.Scope,
		l.AccessTokenEnc, l.AccessTokenExpiresAt.UTC(), l.RefreshTokenEnc, l.RefreshTokenExpiresAt.UTC(), at, at, at, profileAt}
}

// upsertWebUser upserts the user by Official Account openid in one
// statement and returns its id and whether it is disabled.
func upsertWebUser(tx *gorm.DB, l Login) (id int64, disabled bool, err error) {
	var row struct {
		ID       int64
		Disabled bool
	}
	q := userInsert + `VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)` + userOnConflict(l.Profile != nil, !l.Refresh)
	err = rawScan(tx, &row, q, userUpsertArgs(l)...)
	return row.ID, row.Disabled, err
}

// recordWebLoginFast is RecordLogin's one-statement path on Postgres, for
// the logins that cannot link identities: a person WeChat gave no unionid,
// or one already known by this openid (every returning user). It upserts
// the user and its Official Account identity together and reports ok false
// (having written nothing) for a new openid with a unionid, which must go
// through the locked path that looks for the person's other identities, and
// for a known openid whose unionid another user (one without an Official
// Account openid) holds, which the locked path merges (models/merge.go).
func (db *DB) recordWebLoginFast(ctx context.Context, l Login) (id int64, disabled, ok bool, err error) {
	return webUpsert(db.Gorm.WithContext(ctx), l, l.UnionID == "", LinkedFirst)
}

// webLoginTarget finds, in one query, the user who has this Official
// Account openid (known) and, for a unionid, the user without an Official
// Account openid whom the person's other identities belong to (candidate).
func webLoginTarget(tx *gorm.DB, openid, unionid string) (known, candidate int64, err error) {
	var row struct {
		Known     *int64
		Candidate *int64
	}
	err = rawScan(tx, &row, `SELECT (SELECT id FROM users WHERE openid = ?) AS known, (SELECT id FROM (
	      SELECT u.id FROM users u WHERE u.unionid = ? AND u.openid IS NULL
	      UNION SELECT u.id FROM identities i JOIN users u ON u.id = i.user_id WHERE i.unionid = ? AND u.openid IS NULL
	    ) c ORDER BY id LIMIT 1) AS candidate`, openid, unionid, unionid)
	if row.Known != nil {
		known = *row.Known
	}
	if row.Candidate != nil && unionid != "" {
		candidate = *row.Candidate
	}
	return known, candidate, err
}

// webUpsert is the Postgres statement that upserts a web login's user and
// its Official Account identity (linked as given). Unless always, a new
// openid is not inserted: ok is false and nothing was written. Nor is
// anything written (ok false) when a user without an Official Account openid
// holds the login's unionid: that user and this one are one person and must
// be merged first, under the unionid's lock (RecordLogin's transaction). A
// returning user whose unionid is absent or already its own finds no such
// holder and stays one statement.
func webUpsert(tx *gorm.DB, l Login, always bool, linked string) (id int64, disabled, ok bool, err error) {
	cte, args := webUpsertCTE(l, always, linked)
	var rows []struct {
		ID       int64
		Disabled bool
	}
	if err := rawScan(tx, &rows, cte+` SELECT id, disabled FROM u`, args...); err != nil {
		return 0, false, false, err
	}
	if len(rows) == 0 {
		return 0, false, false, nil
	}
	return rows[0].ID, rows[0].Disabled, true, nil
}

// webUpsertCTE is webUpsert's statement without its final SELECT: the
// common table expressions u (the user: id, disabled) and i (its Official
// Account identity), for statements that do more in the same round trip
// (RecordLoginCompleting). Its text is one of a few fixed ones, chosen by
// the kind of login (webUpsertText), so that no parameter is a flag.
func webUpsertCTE(l Login, always bool, linked string) (string, []any) {
	return webUpsertText(always, l.UnionID != "", l.Profile != nil, !l.Refresh), webUpsertArgs(l, always, linked)
}

// webUpsertArgs are the arguments of webUpsertCTE's text, in its order.
func webUpsertArgs(l Login, always bool, linked string) []any {
	union := l.UnionID != ""
	args := userUpsertArgs(l)
	if !always {
		args = append(args, l.OpenID)
	}
	if union {
		args = append(args, l.UnionID, l.UnionID)
	}
	at := l.At.UTC()
	var unionid *string
	if union {
		unionid = &l.UnionID
	}
	return append(args, l.AppID, l.OpenID, unionid, linked, at, at)
}

// UserByID loads one user. Every logged-in page runs it, so it is one
// statement with an explicit scan, the same on both dialects (no GORM
// statement building or reflective scan).
func (db *DB) UserByID(ctx context.Context, id int64) (*User, error) {
	return db.userWhere(ctx, "id = ?", id)
}

// UserByOpenID loads one user by Official Account openid.
func (db *DB) UserByOpenID(ctx context.Context, openid string) (*User, error) {
	return db.userWhere(ctx, "openid = ?", openid)
}

// userWhere reads the one user matching where (a condition on a unique
// column with one ? placeholder), or ErrNotFound.
func (db *DB) userWhere(ctx context.Context, where string, arg any) (*User, error) {
	var u User
	err := db.queryRow(ctx, db.rebind(`SELECT `+userSelect+` FROM users WHERE `+where), arg).
		Scan(&u.ID, &u.OpenID, &u.UnionID, &u.Nickname, &u.Sex, &u.Province, &u.City, &u.Country, &u.AvatarURL,
			&u.Privilege, &u.Language, &u.Scope, &u.AccessTokenEnc, &u.AccessTokenExpiresAt, &u.RefreshTokenEnc, &u.RefreshTokenExpiresAt,
			&u.Disabled, &u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt, &u.LoginCount, &u.ProfileUpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// UpdateProfile stores a freshly fetched profile (an admin's 刷新资料) and,
// when given, new tokens. A unionid another user holds merges that user in.
func (db *DB) UpdateProfile(ctx context.Context, id int64, p Profile, unionid string, accessEnc []byte, accessExp time.Time, refreshEnc []byte, refreshExp time.Time) error {
	updates := map[string]any{
		"nickname": p.Nickname, "sex": p.Sex, "province": p.Province, "city": p.City, "country": p.Country,
		"avatar_url": p.AvatarURL, "privilege": p.Privilege, "language": p.Language,
	}
	now := time.Now().UTC()
	updates["updated_at"], updates["profile_updated_at"] = now, now
	if unionid != "" {
		updates["unionid"] = unionid
	}
	if accessEnc != nil {
		updates["access_token_enc"] = accessEnc
		updates["access_token_expires_at"] = accessExp.UTC()
	}
	if refreshEnc != nil {
		updates["refresh_token_enc"] = refreshEnc
		updates["refresh_token_expires_at"] = refreshExp.UTC()
	}
	if unionid == "" {
		return db.Gorm.WithContext(ctx).Model(&User{}).Where("id = ?", id).Updates(updates).Error
	}
	// The profile brought a unionid: a user without an Official Account
	// openid who holds it (the mini program came first) is this person too
	// and merges into this user (models/merge.go), under the unionid's lock.
	return db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := db.lockUnionID(tx, unionid); err != nil {
			return err
		}
		if err := db.absorbUnionHolders(tx, id, unionid, now); err != nil {
			return err
		}
		return tx.Model(&User{}).Where("id = ?", id).Updates(updates).Error
	})
}

// SetUserDisabled disables or enables a user; disabling also ends every
// session of theirs in the same transaction, so no request can slip through.
func (db *DB) SetUserDisabled(ctx context.Context, id int64, disabled bool) error {
	tx := db.Gorm.WithContext(ctx).Begin()
	if tx.Error != nil {
		return tx.Error
	}
	defer tx.Rollback()
	res := tx.Model(&User{}).Where("id = ?", id).Updates(map[string]any{"disabled": disabled, "updated_at": time.Now().UTC()})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	if disabled {
		if err := tx.Exec("DELETE FROM sessions WHERE user_id = ?", id).Error; err != nil {
			return err
		}
	}
	return tx.Commit().Error
}
