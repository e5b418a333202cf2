package models

import (
	"context"
	"fmt"
	"time"

	"wxlogin/migrations"
)

// FollowerCount is how many people follow the account as far as the
// subscribe/unsubscribe pushes tell.
func (db *DB) FollowerCount(ctx context.Context) (int64, error) {
	var n int64
	err := db.Gorm.WithContext(ctx).Raw(`SELECT COUNT(*) FROM users WHERE followed`).Scan(&n).Error
	return n, err
}

// FollowsPerSlot buckets follow events by CreateTime like LoginsPerSlot:
// Total counts subscribes, Hits unsubscribes.
func (db *DB) FollowsPerSlot(ctx context.Context, since time.Time, size time.Duration, offset int) ([]Bucket, error) {
	secs := int64(size / time.Second)
	if secs <= 0 {
		return nil, fmt.Errorf("slot size %v", size)
	}
	// size and offset are integers from our own code, never from a request.
	slot := fmt.Sprintf("CAST(FLOOR((EXTRACT(EPOCH FROM create_time) + %d) / %d) AS BIGINT)", offset, secs)
	if db.Dialect == migrations.SQLite {
		slot = fmt.Sprintf("((CAST(strftime('%%s', create_time) AS INTEGER) + %d) / %d)", offset, secs)
	}
	var out []Bucket
	err := db.Gorm.WithContext(ctx).Raw(`SELECT `+slot+` AS slot,
	        SUM(CASE WHEN event = 'subscribe' THEN 1 ELSE 0 END) AS total,
	        SUM(CASE WHEN event = 'unsubscribe' THEN 1 ELSE 0 END) AS hits
	        FROM pushes WHERE msg_type = 'event' AND event IN ('subscribe', 'unsubscribe') AND create_time >= ?
	        GROUP BY 1 ORDER BY 1`, since.UTC()).Scan(&out).Error
	return out, err
}

// PushFilter narrows the push log. Type is a MsgType, or an Event of
// MsgType event; empty: all.
type PushFilter struct {
	Type       string
	OpenID     string
	Duplicates bool // only pushes delivered more than once
}

// ListPushes is one page of the push log, newest first, and the total.
func (db *DB) ListPushes(ctx context.Context, f PushFilter, offset, limit int) ([]Push, int64, error) {
	q := db.Gorm.WithContext(ctx).Model(&Push{})
	if f.Type != "" {
		q = q.Where("(msg_type = ? AND event = '') OR (msg_type = 'event' AND event = ?)", f.Type, f.Type)
	}
	if f.OpenID != "" {
		q = q.Where("openid = ?", f.OpenID)
	}
	if f.Duplicates {
		q = q.Where("deliveries > 1")
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, err
	}
	var rows []Push
	err := q.Order("received_at DESC, id DESC").Offset(offset).Limit(limit).Find(&rows).Error
	return rows, total, err
}

// RecentTaps are a person's last n menu taps (VIEW), newest first.
func (db *DB) RecentTaps(ctx context.Context, openid string, n int) ([]Push, error) {
	var rows []Push
	err := db.Gorm.WithContext(ctx).Where("openid = ? AND msg_type = 'event' AND event = 'VIEW'", openid).
		Order("create_time DESC, id DESC").Limit(n).Find(&rows).Error
	return rows, err
}

// Tap is one menu tap on an entry URL.
type Tap struct {
	OpenID string    `gorm:"column:openid"`
	At     time.Time `gorm:"column:create_time"`
}

// LoginTry is one code exchange of a person: they went through the entry
// and WeChat's authorization; Done when it logged them in.
type LoginTry struct {
	OpenID string    `gorm:"column:openid"`
	Status string    `gorm:"column:status"`
	At     time.Time `gorm:"column:created_at"`
}

// FunnelRows returns the taps on URLs starting with prefix since `since`,
// and the code exchanges with a known openid since then, each at most
// limit rows (the funnel is drawn from them in Go, the same on both
// dialects).
func (db *DB) FunnelRows(ctx context.Context, since time.Time, prefix string, limit int) ([]Tap, []LoginTry, error) {
	var taps []Tap
	err := db.Gorm.WithContext(ctx).Raw(`SELECT openid, create_time FROM pushes
		WHERE msg_type = 'event' AND event = 'VIEW' AND create_time >= ? AND event_key LIKE ? ESCAPE '\'
		ORDER BY create_time LIMIT ?`, since.UTC(), EscapeLike(prefix)+"%", limit).Scan(&taps).Error
	if err != nil {
		return nil, nil, err
	}
	var tries []LoginTry
	err = db.Gorm.WithContext(ctx).Raw(`SELECT openid, status, created_at FROM code_exchanges
		WHERE openid IS NOT NULL AND created_at >= ? ORDER BY created_at LIMIT ?`, since.UTC(), limit).Scan(&tries).Error
	return taps, tries, err
}
