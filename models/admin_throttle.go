package models

import (
	"context"
	"time"
)

// Throttle is the answer of one counted login attempt for a key.
type Throttle struct {
	Failures    int        `gorm:"column:failures"`
	LockedUntil *time.Time `gorm:"column:locked_until"`
}

// Locked reports whether the key is locked at now.
func (t Throttle) Locked(now time.Time) bool {
	return t.LockedUntil != nil && t.LockedUntil.After(now)
}

// ThrottleAttempt counts one admin login attempt against key (an account or a
// client address) before the password is even looked at, in one statement:
//
//   - while the key is locked nothing changes and the lock is returned;
//   - a window older than window, or a lock that has run out, starts over at 1;
//   - otherwise the count goes up, and the attempt that goes past max sets
//     locked_until = now + lockFor.
//
// Counting first and in a single UPSERT means concurrent guesses cannot all
// read "4 failures" and all get through: the row lock orders them, and at
// most max attempts per window reach the password check. A lock always runs
// out, so nobody can lock an account for good.
func (db *DB) ThrottleAttempt(ctx context.Context, key string, now time.Time, window, lockFor time.Duration, max int) (Throttle, error) {
	now = now.UTC()
	q := `INSERT INTO login_throttle AS t (key, failures, window_start, locked_until)
	      VALUES (@key, 1, @now, NULL)
	      ON CONFLICT (key) DO UPDATE SET
	        failures = CASE
	          WHEN t.locked_until > @now THEN t.failures
	          WHEN t.window_start <= @cutoff OR t.locked_until IS NOT NULL THEN 1
	          ELSE t.failures + 1 END,
	        window_start = CASE
	          WHEN t.locked_until > @now THEN t.window_start
	          WHEN t.window_start <= @cutoff OR t.locked_until IS NOT NULL THEN @now
	          ELSE t.window_start END,
	        locked_until = CASE
	          WHEN t.locked_until > @now THEN t.locked_until
	          WHEN t.window_start <= @cutoff OR t.locked_until IS NOT NULL THEN NULL
	          WHEN t.failures + 1 > @max THEN @lock
	          ELSE NULL END
	      RETURNING failures, locked_until`
	var out Throttle
	err := db.Gorm.WithContext(ctx).Raw(q, map[string]any{
		"key": key, "now": now, "cutoff": now.Add(-window), "max": max, "lock": now.Add(lockFor),
	}).Scan(&out).Error
	return out, err
}

// ThrottleRefund takes back one counted attempt that turned out to be a
// successful login, unless the key is locked.
func (db *DB) ThrottleRefund(ctx context.Context, key string) error {
	return db.Gorm.WithContext(ctx).Exec(
		"UPDATE login_throttle SET failures = failures - 1 WHERE key = ? AND failures > 0 AND locked_until IS NULL", key).Error
}

// ThrottleClear forgets a key: after a successful login for the account, or
// when an operator unlocks it.
func (db *DB) ThrottleClear(ctx context.Context, key string) (bool, error) {
	res := db.Gorm.WithContext(ctx).Exec("DELETE FROM login_throttle WHERE key = ?", key)
	return res.RowsAffected > 0, res.Error
}

// PurgeThrottle deletes rows that no longer count: their window is over and
// they are not locked. Such a row behaves exactly like a missing one, so
// deleting it changes nothing but the table's size, which an attacker
// trying many names or addresses would otherwise grow without bound.
func (db *DB) PurgeThrottle(ctx context.Context, now time.Time, window time.Duration) (int64, error) {
	res := db.Gorm.WithContext(ctx).Exec(
		"DELETE FROM login_throttle WHERE window_start < ? AND (locked_until IS NULL OR locked_until < ?)",
		now.Add(-window).UTC(), now.UTC())
	return res.RowsAffected, res.Error
}

// ThrottleClearPrefix forgets every key that starts with prefix (an account
// under all client addresses).
func (db *DB) ThrottleClearPrefix(ctx context.Context, prefix string) (int64, error) {
	res := db.Gorm.WithContext(ctx).Exec(`DELETE FROM login_throttle WHERE key LIKE ? ESCAPE '\'`, EscapeLike(prefix)+"%")
	return res.RowsAffected, res.Error
}
