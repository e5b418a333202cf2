package models

import (
	"context"
	"errors"
	"time"

	"gorm.io/gorm"
)

// Push is one message or event WeChat pushed to /wechat/notify, stored once
// under DedupeKey however often it was delivered.
type Push struct {
	ID             int64     `gorm:"column:id;primaryKey"`
	DedupeKey      string    `gorm:"column:dedupe_key"`
	OpenID         string    `gorm:"column:openid"`
	ToUser         string    `gorm:"column:to_user"`
	MsgType        string    `gorm:"column:msg_type"`
	Event          string    `gorm:"column:event"`
	EventKey       string    `gorm:"column:event_key"`
	MenuID         string    `gorm:"column:menu_id"`
	MsgID          string    `gorm:"column:msg_id"`
	Content        string    `gorm:"column:content"`
	Mode           string    `gorm:"column:mode"`
	Instance       string    `gorm:"column:instance"`
	CreateTime     time.Time `gorm:"column:create_time"`
	ReceivedAt     time.Time `gorm:"column:received_at"`
	Deliveries     int       `gorm:"column:deliveries"`
	LastDeliveryAt time.Time `gorm:"column:last_delivery_at"`
}

// TableName pins the table name.
func (Push) TableName() string { return "pushes" }

// Delivery is one verified delivery of a push: the (timestamp, nonce) it
// came with and the SHA-256 of its body, for the replay check.
type Delivery struct {
	NonceKey string
	BodyHash string
}

// ErrReplay is returned when a delivery's (timestamp, nonce) was already
// seen with a different body: a captured signature reused on a forged body.
var ErrReplay = errors.New("push replayed with another body")

// Follow events the store applies to users.
const (
	EventSubscribe   = "subscribe"
	EventUnsubscribe = "unsubscribe"
)

// StorePush records one delivery of p in a single transaction: the
// delivery's nonce, then the push under its UNIQUE dedupe key, then its
// effect (follow status). It reports duplicate when the push was stored
// before (by any instance, or a concurrent delivery that committed first:
// the UNIQUE index makes the second INSERT wait for the first transaction);
// a duplicate only counts itself in deliveries and changes nothing else.
// Any error means nothing was stored, so the caller must not answer success.
func (db *DB) StorePush(ctx context.Context, d Delivery, p *Push) (duplicate bool, err error) {
	err = db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := p.ReceivedAt.UTC()
		res := tx.Exec(`INSERT INTO push_nonces (nonce_key, body_hash, created_at) VALUES (?, ?, ?)
			ON CONFLICT (nonce_key) DO NOTHING`, d.NonceKey, d.BodyHash, now)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			var seen string
			if err := tx.Raw(`SELECT body_hash FROM push_nonces WHERE nonce_key = ?`, d.NonceKey).Scan(&seen).Error; err != nil {
				return err
			}
			if seen != d.BodyHash {
				return ErrReplay
			}
		}
		var ids []int64
		err := tx.Raw(`INSERT INTO pushes (dedupe_key, openid, to_user, msg_type, event, event_key, menu_id, msg_id, content,
				mode, instance, create_time, received_at, deliveries, last_delivery_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)
			ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
			p.DedupeKey, p.OpenID, p.ToUser, p.MsgType, p.Event, p.EventKey, p.MenuID, p.MsgID, p.Content,
			p.Mode, p.Instance, p.CreateTime.UTC(), now, now).Scan(&ids).Error
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			duplicate = true
			return tx.Exec(`UPDATE pushes SET deliveries = deliveries + 1, last_delivery_at = ? WHERE dedupe_key = ?`,
				now, p.DedupeKey).Error
		}
		p.ID = ids[0]
		if p.MsgType == "event" && (p.Event == EventSubscribe || p.Event == EventUnsubscribe) {
			return applyFollow(tx, p.OpenID, p.Event == EventSubscribe, p.CreateTime.UTC(), now)
		}
		return nil
	})
	return duplicate, err
}

// applyFollow keeps a person's follow status. A person not seen before gets
// an identity row by openid (no nickname: WeChat tells none here). The
// UPDATE is conditional on CreateTime, so an older event delivered late (a
// retried subscribe after the unsubscribe that followed it) changes nothing.
// Two events in the same second (CreateTime has no finer grain) cannot be
// ordered; the one stored last wins, arrival order being the best guess.
// A retry never counts here: only a push's first delivery is applied.
func applyFollow(tx *gorm.DB, openid string, follow bool, at, now time.Time) error {
	res := tx.Exec(`INSERT INTO users (openid, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (openid) DO NOTHING`,
		openid, now, now)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 1 {
		// Its Official Account identity, not logged in yet (login_count 0);
		// a later web login finds the user by openid and counts itself there.
		if err := tx.Exec(`INSERT INTO identities (user_id, app, openid, linked_by, created_at, login_count)
			SELECT id, 'oa', openid, 'first', ?, 0 FROM users WHERE openid = ?
			ON CONFLICT (app, openid) DO NOTHING`, now, openid).Error; err != nil {
			return err
		}
	}
	if follow {
		return tx.Exec(`UPDATE users SET followed = ?, follow_changed_at = ?, followed_at = ?, updated_at = ?
			WHERE openid = ? AND (follow_changed_at IS NULL OR follow_changed_at <= ?)`, true, at, at, now, openid, at).Error
	}
	return tx.Exec(`UPDATE users SET followed = ?, follow_changed_at = ?, updated_at = ?
		WHERE openid = ? AND (follow_changed_at IS NULL OR follow_changed_at <= ?)`, false, at, now, openid, at).Error
}

// RecordPushCheck notes that WeChat's server-configuration check passed.
func (db *DB) RecordPushCheck(ctx context.Context, at time.Time) error {
	return db.Gorm.WithContext(ctx).Exec(`INSERT INTO push_checks (id, last_check_at) VALUES (1, ?)
		ON CONFLICT (id) DO UPDATE SET last_check_at = excluded.last_check_at`, at.UTC()).Error
}

// LastPushCheck is when WeChat's check last passed; zero if never.
func (db *DB) LastPushCheck(ctx context.Context) (time.Time, error) {
	var ts []time.Time
	if err := db.Gorm.WithContext(ctx).Raw(`SELECT last_check_at FROM push_checks WHERE id = 1`).Scan(&ts).Error; err != nil {
		return time.Time{}, err
	}
	if len(ts) == 0 {
		return time.Time{}, nil
	}
	return ts[0], nil
}

// PurgePushes deletes pushes received before `before` and nonces older than
// nonceBefore. A push purged after the retention period cannot come back as
// a retry: deliveries more than a few minutes old are refused by timestamp.
func (db *DB) PurgePushes(ctx context.Context, before, nonceBefore time.Time) (int64, error) {
	a := db.Gorm.WithContext(ctx).Exec(`DELETE FROM pushes WHERE received_at < ?`, before.UTC())
	if a.Error != nil {
		return 0, a.Error
	}
	b := db.Gorm.WithContext(ctx).Exec(`DELETE FROM push_nonces WHERE created_at < ?`, nonceBefore.UTC())
	return a.RowsAffected + b.RowsAffected, b.Error
}

// FollowStatus is what subscribe/unsubscribe told about one person.
type FollowStatus struct {
	Known     bool // false: no follow event was ever received
	Followed  bool
	ChangedAt time.Time
	SinceAt   *time.Time // the last subscribe
}

// FollowOf returns the follow status of the user with this openid.
func (db *DB) FollowOf(ctx context.Context, openid string) (FollowStatus, error) {
	var rows []struct {
		Followed        *bool
		FollowChangedAt *time.Time
		FollowedAt      *time.Time
	}
	err := db.Gorm.WithContext(ctx).Raw(`SELECT followed, follow_changed_at, followed_at FROM users WHERE openid = ?`, openid).
		Scan(&rows).Error
	if err != nil || len(rows) == 0 || rows[0].Followed == nil {
		return FollowStatus{}, err
	}
	r := rows[0]
	fs := FollowStatus{Known: true, Followed: *r.Followed, SinceAt: r.FollowedAt}
	if r.FollowChangedAt != nil {
		fs.ChangedAt = *r.FollowChangedAt
	}
	return fs, nil
}
