package models

import (
	"context"
	"fmt"
	"time"

	"wxlogin/migrations"
)

// Dashboard holds the admin dashboard's numbers.
type Dashboard struct {
	UsersTotal int64 `gorm:"column:users_total"`
	UsersToday int64 `gorm:"column:users_today"`
	UsersWeek  int64 `gorm:"column:users_week"`
	Logins24h  int64 `gorm:"column:logins_24h"`   // done and not refused
	Refused24h int64 `gorm:"column:refused_24h"`  // a disabled user's attempts
	Snapshot24 int64 `gorm:"column:snapshot_24h"` // snapshot-page visitors (not failures)
	Duplicates int64 `gorm:"column:duplicates"`
}

// FailureCount is how often exchanges failed with one errcode and kind.
type FailureCount struct {
	ErrCode int    `gorm:"column:errcode"`
	Kind    string `gorm:"column:kind"`
	N       int64  `gorm:"column:n"`
}

// Bucket is one bar of a chart: a time slot (the bucket's start) and counts.
type Bucket struct {
	Slot  int64 `gorm:"column:slot"`  // seconds since the epoch (shifted by the offset) / size
	Total int64 `gorm:"column:total"` // rows in the slot
	Hits  int64 `gorm:"column:hits"`  // rows that match the chart's condition
}

// DashboardCounts counts users (all, created since today, since weekStart),
// logins since since24h (a disabled user's refused attempt is counted
// apart, and so are snapshot-page visitors), and the duplicate callbacks
// absorbed by every exchange still kept.
func (db *DB) DashboardCounts(ctx context.Context, today, weekStart, since24h time.Time) (*Dashboard, error) {
	var d Dashboard
	// The users are counted in one pass: users_total reads every user
	// anyway, and users.created_at has no index (it would be written by
	// every new user's login for this page alone; see migration 00011).
	err := db.Gorm.WithContext(ctx).Raw(`SELECT uc.total AS users_total, uc.today AS users_today, uc.week AS users_week,
	        (SELECT COUNT(*) FROM code_exchanges WHERE status = 'done' AND error_kind IS NULL AND created_at >= ?) AS logins_24h,
	        (SELECT COUNT(*) FROM code_exchanges WHERE status = 'done' AND error_kind = ? AND created_at >= ?) AS refused_24h,
	        (SELECT COUNT(*) FROM code_exchanges WHERE status = 'failed' AND error_kind = ? AND created_at >= ?) AS snapshot_24h,
	        (SELECT COALESCE(SUM(duplicates), 0) FROM code_exchanges) AS duplicates
	        FROM (SELECT COUNT(*) AS total, COALESCE(SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END), 0) AS today,
	                COALESCE(SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END), 0) AS week FROM users) uc`,
		since24h.UTC(), KindDisabled, since24h.UTC(), KindSnapshot, since24h.UTC(), today.UTC(), weekStart.UTC()).Scan(&d).Error
	return &d, err
}

// FailuresByErrCode groups the failed exchanges since since by errcode and
// kind, most frequent first. Snapshot-page visitors are not failures and are
// left out; ErrCode 0 means WeChat gave none (timeout, 5xx, bad JSON, or a
// failure of ours), which Kind then names.
func (db *DB) FailuresByErrCode(ctx context.Context, since time.Time) ([]FailureCount, error) {
	var out []FailureCount
	err := db.Gorm.WithContext(ctx).Raw(`SELECT COALESCE(errcode, 0) AS errcode, COALESCE(error_kind, '') AS kind, COUNT(*) AS n
	        FROM code_exchanges WHERE status = 'failed' AND COALESCE(error_kind, '') <> ? AND created_at >= ?
	        GROUP BY COALESCE(errcode, 0), COALESCE(error_kind, '') ORDER BY n DESC, errcode LIMIT 50`, KindSnapshot, since.UTC()).Scan(&out).Error
	return out, err
}

// LoginsPerSlot counts exchanges since since in slots of size (e.g. an hour);
// Hits are the logins (done and not refused). offset shifts slot boundaries from UTC to a
// local zone (seconds east of UTC), so a day slot starts at local midnight.
// Slots without rows are absent.
func (db *DB) LoginsPerSlot(ctx context.Context, since time.Time, size time.Duration, offset int) ([]Bucket, error) {
	return db.slots(ctx, since, size, offset, "status = 'done' AND error_kind IS NULL")
}

// DuplicatesPerSlot is LoginsPerSlot where Hits are the exchanges that
// absorbed at least one duplicate callback.
func (db *DB) DuplicatesPerSlot(ctx context.Context, since time.Time, size time.Duration, offset int) ([]Bucket, error) {
	return db.slots(ctx, since, size, offset, "duplicates > 0")
}

func (db *DB) slots(ctx context.Context, since time.Time, size time.Duration, offset int, cond string) ([]Bucket, error) {
	secs := int64(size / time.Second)
	if secs <= 0 {
		return nil, fmt.Errorf("slot size %v", size)
	}
	// size and offset are integers from our own code, never from a request.
	slot := fmt.Sprintf("CAST(FLOOR((EXTRACT(EPOCH FROM created_at) + %d) / %d) AS BIGINT)", offset, secs)
	if db.Dialect == migrations.SQLite {
		slot = fmt.Sprintf("((CAST(strftime('%%s', created_at) AS INTEGER) + %d) / %d)", offset, secs)
	}
	var out []Bucket
	err := db.Gorm.WithContext(ctx).Raw(`SELECT `+slot+` AS slot, COUNT(*) AS total,
	        SUM(CASE WHEN `+cond+` THEN 1 ELSE 0 END) AS hits
	        FROM code_exchanges WHERE created_at >= ? GROUP BY 1 ORDER BY 1`, since.UTC()).Scan(&out).Error
	return out, err
}
