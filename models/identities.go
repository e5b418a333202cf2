package models

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"gorm.io/gorm"
)

// Apps a user may have an identity in.
const (
	AppOA   = "oa"   // the Official Account (web login)
	AppMini = "mini" // the mini program
)

// How an identity came to belong to its user.
const (
	LinkedFirst    = "first"    // it made the user
	LinkedUnionID  = "unionid"  // it joined the user of another identity with the same unionid
	LinkedMigrated = "migrated" // it was users.openid before identities existed (migration 00008)
)

// Identity is one app's openid of a user. Users are people, identities are
// per app: identities with the same unionid belong to one user, whichever
// app the person used first; without a unionid every identity is a user of
// its own.
type Identity struct {
	ID          int64      `gorm:"column:id;primaryKey"`
	UserID      int64      `gorm:"column:user_id"`
	App         string     `gorm:"column:app"`
	AppID       string     `gorm:"column:appid"`
	OpenID      string     `gorm:"column:openid"`
	UnionID     *string    `gorm:"column:unionid"`
	LinkedBy    string     `gorm:"column:linked_by"`
	CreatedAt   time.Time  `gorm:"column:created_at"`
	LastLoginAt *time.Time `gorm:"column:last_login_at"`
	LoginCount  int        `gorm:"column:login_count"`
	// session_key_enc is deliberately not a field: nothing reads it back
	// into a struct that could end up in a page or a log line.
}

// TableName pins the table name.
func (Identity) TableName() string { return "identities" }

// UserIdentities lists a user's identities, oldest first.
func (db *DB) UserIdentities(ctx context.Context, userID int64) ([]Identity, error) {
	var out []Identity
	err := db.Gorm.WithContext(ctx).Select("id", "user_id", "app", "appid", "openid", "unionid", "linked_by",
		"created_at", "last_login_at", "login_count").
		Where("user_id = ?", userID).Order("id").Limit(20).Find(&out).Error
	return out, err
}

// lockUnionID serialises, on Postgres, the logins of one unionid for the
// rest of the transaction: two first logins of one person in two apps at the
// same moment must not make two users. SQLite's transactions are serialised
// anyway (one connection, BEGIN IMMEDIATE).
func (db *DB) lockUnionID(tx *gorm.DB, unionid string) error {
	if unionid == "" || db.Dialect != "postgres" {
		return nil
	}
	return tx.Exec(`SELECT pg_advisory_xact_lock(hashtextextended('wxlogin.unionid:' || ?, 0))`, unionid).Error
}

// miniLoginTarget finds, in one query, the user who has this mini program
// identity (known) and the lowest-id other user who carries the unionid or
// has an identity with it (other, 0 without a unionid). Two indexed lookups
// (users.unionid, identities.unionid) rather than one OR, which no index
// serves.
func miniLoginTarget(tx *gorm.DB, openid, unionid string) (known, other int64, err error) {
	var u *string
	if unionid != "" {
		u = &unionid
	}
	var row struct {
		Known *int64
		Other *int64
	}
	err = rawScan(tx, &row, `SELECT k.user_id AS known, (SELECT MIN(c.id) FROM (
	      SELECT id FROM users WHERE unionid = ?
	      UNION SELECT user_id AS id FROM identities WHERE unionid = ?
	    ) c WHERE c.id <> COALESCE(k.user_id, 0)) AS other
	    FROM (SELECT (SELECT user_id FROM identities WHERE app = ? AND openid = ?) AS user_id) k`,
		u, u, AppMini, openid)
	if row.Known != nil {
		known = *row.Known
	}
	if row.Other != nil {
		other = *row.Other
	}
	return known, other, err
}

// upsertIdentity records a login of an identity of userID.
//
// An identity's login count and last login move only when the user's do:
// not for a disabled user's refused attempt, nor for a profile refresh
// (counts false).
func upsertIdentity(tx *gorm.DB, userID int64, app, appid, openid, unionid, linkedBy string, sessionKeyEnc []byte, at time.Time, counts ...bool) error {
	var u *string
	if unionid != "" {
		u = &unionid
	}
	count := len(counts) == 0 || counts[0]
	return tx.Exec(`INSERT INTO identities (user_id, app, appid, openid, unionid, linked_by, session_key_enc, created_at, last_login_at, login_count)
	    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
	    ON CONFLICT (app, openid) DO UPDATE SET
	      unionid = COALESCE(excluded.unionid, identities.unionid),
	      appid = CASE WHEN excluded.appid <> '' THEN excluded.appid ELSE identities.appid END,
	      session_key_enc = COALESCE(excluded.session_key_enc, identities.session_key_enc),
	      last_login_at = CASE WHEN ? THEN excluded.last_login_at ELSE identities.last_login_at END,
	      login_count = identities.login_count + CASE WHEN ? THEN 1 ELSE 0 END`,
		userID, app, appid, openid, u, linkedBy, sessionKeyEnc, at, at, count, count).Error
}

// recordMiniLogin stores a mini program login: the identity's user if it
// has one, else the user of another identity with the same unionid, else a
// new user without an Official Account openid. An identity whose user and
// another user both hold the login's unionid merges them first.
func (db *DB) recordMiniLogin(ctx context.Context, l Login) (id int64, disabled bool, err error) {
	at := l.At.UTC()
	var unionid *string
	if l.UnionID != "" {
		unionid = &l.UnionID
	}
	err = db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := db.lockUnionID(tx, l.UnionID); err != nil {
			return err
		}
		known, other, err := miniLoginTarget(tx, l.OpenID, l.UnionID)
		if err != nil {
			return err
		}
		linked := LinkedFirst
		switch {
		case known != 0 && other != 0:
			// This identity's user and another one hold the unionid: one
			// person (the identity had none before, or the other user got
			// it since), so one user (models/merge.go). Two users who both
			// have an Official Account openid stay apart.
			id, err = db.mergeUsers(tx, known, other, l.UnionID, at)
			if errors.Is(err, errBothOA) {
				id, err = known, nil
			}
			if err != nil {
				return err
			}
		case known != 0:
			id = known
		case other != 0:
			id, linked = other, LinkedUnionID
		}
		if id == 0 {
			var row struct{ ID int64 }
			err := rawScan(tx, &row, `INSERT INTO users (openid, unionid, created_at, updated_at, last_login_at, login_count)
			    VALUES (NULL, ?, ?, ?, ?, 1) RETURNING id`, unionid, at, at, at)
			if err != nil {
				return err
			}
			id = row.ID
		} else if err := tx.Exec(`UPDATE users SET unionid = COALESCE(unionid, ?), updated_at = ?,
		    last_login_at = CASE WHEN disabled THEN last_login_at ELSE ? END,
		    login_count = login_count + CASE WHEN disabled THEN 0 ELSE 1 END WHERE id = ?`, unionid, at, at, id).Error; err != nil {
			return err
		}
		var flags []bool
		if err := rawScan(tx, &flags, `SELECT disabled FROM users WHERE id = ?`, id); err != nil {
			return err
		}
		if len(flags) == 0 {
			return sql.ErrNoRows
		}
		disabled = flags[0]
		// A disabled user's attempt is refused: no login counted anywhere.
		if err := upsertIdentity(tx, id, AppMini, l.AppID, l.OpenID, l.UnionID, linked, l.SessionKeyEnc, at, !disabled); err != nil {
			return err
		}
		return nil
	})
	if errors.Is(err, sql.ErrNoRows) {
		err = errors.New("models: the mini program login's user vanished")
	}
	return id, disabled, err
}

// SealedSessionKey is one mini program identity's sealed session_key, for
// the TOKEN_KEY rotation.
type SealedSessionKey struct {
	ID     int64  `gorm:"column:id"`
	OpenID string `gorm:"column:openid"`
	Enc    []byte `gorm:"column:session_key_enc"`
}

// SealedSessionKeysAfter returns up to limit identities holding a sealed
// session_key whose id is greater than afterID, by id.
func (db *DB) SealedSessionKeysAfter(ctx context.Context, afterID int64, limit int) ([]SealedSessionKey, error) {
	var out []SealedSessionKey
	err := db.Gorm.WithContext(ctx).Raw(`SELECT id, openid, session_key_enc FROM identities
	  WHERE id > ? AND session_key_enc IS NOT NULL AND length(session_key_enc) > 0 ORDER BY id LIMIT ?`, afterID, limit).Scan(&out).Error
	return out, err
}

// ResealSessionKey stores a re-sealed session_key for old.ID if the row still
// holds old's ciphertext (a login meanwhile stored a fresh one, sealed with
// the newest key already), and reports whether it did.
func (db *DB) ResealSessionKey(ctx context.Context, old SealedSessionKey, enc []byte) (bool, error) {
	res := db.Gorm.WithContext(ctx).Exec(`UPDATE identities SET session_key_enc = ? WHERE id = ? AND session_key_enc = ?`, enc, old.ID, old.Enc)
	return res.RowsAffected == 1, res.Error
}
