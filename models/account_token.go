package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AccountToken is the row of the Official Account's basic access token
// (table account_tokens, one per appid), as the token center reads it. Now
// is the database's clock at the read, so every instance measures expiry,
// leases and the 30 s between forced refreshes on one clock.
type AccountToken struct {
	AppID         string
	TokenEnc      []byte // sealed with TOKEN_KEY; nil before the first fetch
	Version       int64  // bumps with every new token
	ExpiresAt     *time.Time
	FetchedAt     *time.Time
	FetchedBy     string
	FetchMode     string // "normal", "force"
	LeaseOwner    string
	LeaseUntil    *time.Time
	ForceDay      string // Beijing date force_count counts for
	ForceCount    int
	LastForceAt   *time.Time
	DeadVersion   int64 // a token version WeChat refused while no force was allowed; -1 none
	Failures      int
	RetryAt       *time.Time
	LastErrorCode int
	LastError     string
	LastErrorAt   *time.Time
	Now           time.Time
}

const accountTokenColumns = `appid, token_enc, version, expires_at, fetched_at, fetched_by, fetch_mode, lease_owner,
	lease_until, force_day, force_count, last_force_at, dead_version, failures, retry_at, last_error_code, last_error, last_error_at`

// AccountToken reads the row of appid, creating an empty one first if there
// is none (ON CONFLICT DO NOTHING: any number of instances may race here).
func (db *DB) AccountToken(ctx context.Context, appid string) (*AccountToken, error) {
	now, nowArgs := db.clock()
	ins := `INSERT INTO account_tokens (appid, updated_at) VALUES (?, ` + now + `) ON CONFLICT (appid) DO NOTHING`
	if _, err := db.SQL.ExecContext(ctx, db.rebind(ins), append([]any{appid}, nowArgs...)...); err != nil {
		return nil, err
	}
	sel := `SELECT ` + accountTokenColumns + `, ` + now + ` FROM account_tokens WHERE appid = ?`
	var r AccountToken
	var dbNow any
	err := db.SQL.QueryRowContext(ctx, db.rebind(sel), append(nowArgs, appid)...).Scan(&r.AppID, &r.TokenEnc, &r.Version,
		&r.ExpiresAt, &r.FetchedAt, &r.FetchedBy, &r.FetchMode, &r.LeaseOwner, &r.LeaseUntil, &r.ForceDay, &r.ForceCount,
		&r.LastForceAt, &r.DeadVersion, &r.Failures, &r.RetryAt, &r.LastErrorCode, &r.LastError, &r.LastErrorAt, &dbNow)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if r.Now, err = statementClock(dbNow, nowArgs); err != nil {
		return nil, err
	}
	return &r, nil
}

// statementClock is the "now" a statement built with db.clock() compared
// with, read back as its last column: a time from the database where the
// clock is the database's (now() on Postgres), else the time passed as the
// clock's argument (SQLite, whose clock is this process's and which hands
// an untyped parameter back as text). One path on both dialects.
func statementClock(read any, clockArgs []any) (time.Time, error) {
	if t, ok := read.(time.Time); ok {
		return t.UTC(), nil
	}
	if len(clockArgs) == 1 {
		if t, ok := clockArgs[0].(time.Time); ok {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("models: the statement's clock read back as %T", read)
}

// ClaimAccountTokenLease makes owner the one instance allowed to fetch the
// token of appid for d, unless another owner's lease is still running,
// WeChat's last failure asked every instance to hold off (retry_at), or the
// row has moved past version (the one the caller decided on: another
// instance stored a token in between, so there is nothing to fetch). A
// single conditional UPDATE: no lock outlives the statement, so it works
// behind a transaction-mode pooler.
func (db *DB) ClaimAccountTokenLease(ctx context.Context, appid, owner string, version int64, d time.Duration) (bool, error) {
	now, nowArgs := db.clock()
	until, untilArgs := db.after(d)
	q := `UPDATE account_tokens SET lease_owner = ?, lease_until = ` + until + `
	  WHERE appid = ? AND version = ? AND (lease_until IS NULL OR lease_until < ` + now + `) AND (retry_at IS NULL OR retry_at <= ` + now + `)`
	args := append([]any{owner}, untilArgs...)
	args = append(args, appid, version)
	args = append(args, nowArgs...)
	args = append(args, nowArgs...)
	res, err := db.SQL.ExecContext(ctx, db.rebind(q), args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseAccountTokenLease ends owner's lease early (others need not wait it out).
func (db *DB) ReleaseAccountTokenLease(ctx context.Context, appid, owner string) error {
	_, err := db.SQL.ExecContext(ctx, db.rebind(`UPDATE account_tokens SET lease_owner = '', lease_until = NULL
	  WHERE appid = ? AND lease_owner = ?`), appid, owner)
	return err
}

// StoreAccountToken stores a new sealed token fetched by owner (mode
// "normal" or "force") living expiresIn on the database's clock, bumps the
// version, clears the failure state and ends the lease. It only writes
// while owner still holds the lease; it reports whether it did.
func (db *DB) StoreAccountToken(ctx context.Context, appid, owner, instance, mode string, sealed []byte, expiresIn time.Duration) (bool, error) {
	now, nowArgs := db.clock()
	exp, expArgs := db.after(expiresIn)
	q := `UPDATE account_tokens SET token_enc = ?, version = version + 1, expires_at = ` + exp + `, fetched_at = ` + now + `,
	  fetched_by = ?, fetch_mode = ?, lease_owner = '', lease_until = NULL, failures = 0, retry_at = NULL,
	  dead_version = -1, updated_at = ` + now + `
	  WHERE appid = ? AND lease_owner = ?`
	args := append([]any{sealed}, expArgs...)
	args = append(args, nowArgs...)
	args = append(args, instance, mode)
	args = append(args, nowArgs...)
	args = append(args, appid, owner)
	res, err := db.SQL.ExecContext(ctx, db.rebind(q), args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CountAccountTokenForce records one forced refresh for owner's lease if
// WeChat's limits allow it: fewer than daily today (day, a Beijing date)
// and none in the last interval, both counted in the database across every
// instance. It reports whether the force may go out.
func (db *DB) CountAccountTokenForce(ctx context.Context, appid, owner, day string, daily int, interval time.Duration) (bool, error) {
	now, nowArgs := db.clock()
	before, beforeArgs := db.after(-interval)
	q := `UPDATE account_tokens SET force_count = CASE WHEN force_day = ? THEN force_count + 1 ELSE 1 END,
	  force_day = ?, last_force_at = ` + now + `, updated_at = ` + now + `
	  WHERE appid = ? AND lease_owner = ? AND (force_day <> ? OR force_count < ?)
	    AND (last_force_at IS NULL OR last_force_at <= ` + before + `)`
	args := append([]any{day, day}, nowArgs...)
	args = append(args, nowArgs...)
	args = append(args, appid, owner, day, daily)
	args = append(args, beforeArgs...)
	res, err := db.SQL.ExecContext(ctx, db.rebind(q), args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// MarkAccountTokenDead records that the token of version was refused by
// WeChat and could not be forced now, so other instances fail fast instead
// of asking WeChat again until recheck has passed (retry_at); the lease of
// owner ends.
func (db *DB) MarkAccountTokenDead(ctx context.Context, appid, owner string, version int64, recheck time.Duration) error {
	retry, retryArgs := db.after(recheck)
	args := append([]any{version}, retryArgs...)
	args = append(args, appid, owner, version)
	_, err := db.SQL.ExecContext(ctx, db.rebind(`UPDATE account_tokens SET dead_version = ?, retry_at = `+retry+`,
	  lease_owner = '', lease_until = NULL WHERE appid = ? AND lease_owner = ? AND version = ?`), args...)
	return err
}

// RecordAccountTokenError stores WeChat's failure (errcode, a Chinese
// description free of any secret) and holds every instance off until
// retryAfter has passed; the lease of owner ends.
func (db *DB) RecordAccountTokenError(ctx context.Context, appid, owner string, code int, msg string, retryAfter time.Duration) error {
	now, nowArgs := db.clock()
	retry, retryArgs := db.after(retryAfter)
	q := `UPDATE account_tokens SET failures = failures + 1, retry_at = ` + retry + `, last_error_code = ?, last_error = ?,
	  last_error_at = ` + now + `, lease_owner = '', lease_until = NULL, updated_at = ` + now + `
	  WHERE appid = ? AND lease_owner = ?`
	args := append(retryArgs, code, msg)
	args = append(args, nowArgs...)
	args = append(args, nowArgs...)
	args = append(args, appid, owner)
	_, err := db.SQL.ExecContext(ctx, db.rebind(q), args...)
	return err
}

// NoteAccountTokenError stores the last error without touching the lease
// or the retry schedule (an error seen outside a fetch, e.g. a force the
// limits refused).
func (db *DB) NoteAccountTokenError(ctx context.Context, appid string, code int, msg string) error {
	now, nowArgs := db.clock()
	q := `UPDATE account_tokens SET last_error_code = ?, last_error = ?, last_error_at = ` + now + ` WHERE appid = ?`
	args := append([]any{code, msg}, nowArgs...)
	_, err := db.SQL.ExecContext(ctx, db.rebind(q), append(args, appid)...)
	return err
}
