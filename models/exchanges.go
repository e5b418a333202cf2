package models

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Exchange statuses.
const (
	StatusPending = "pending"
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// CodeExchange is one authorization code's row: the exactly-once gate (its
// UNIQUE code_hash) and the audit trail of what happened to the code.
type CodeExchange struct {
	ID          int64      `gorm:"column:id;primaryKey"`
	CodeHash    string     `gorm:"column:code_hash"`
	StateHash   string     `gorm:"column:state_hash"`
	BrowserHash string     `gorm:"column:browser_hash"`
	NextPath    string     `gorm:"column:next_path"`
	Scope       string     `gorm:"column:scope"`
	Status      string     `gorm:"column:status"`
	Owner       string     `gorm:"column:owner"`
	LeaseUntil  time.Time  `gorm:"column:lease_until"`
	Attempts    int        `gorm:"column:attempts"`
	Takeovers   int        `gorm:"column:takeovers"`
	Duplicates  int        `gorm:"column:duplicates"`
	Waits       int        `gorm:"column:waits"`
	Restarted   bool       `gorm:"column:restarted"`
	UserID      *int64     `gorm:"column:user_id"`
	OpenID      *string    `gorm:"column:openid"`
	ErrCode     *int       `gorm:"column:errcode"`
	ErrorKind   *string    `gorm:"column:error_kind"`
	CreatedAt   time.Time  `gorm:"column:created_at"`
	UpdatedAt   time.Time  `gorm:"column:updated_at"`
	FinishedAt  *time.Time `gorm:"column:finished_at"`
}

// TableName pins the table name.
func (CodeExchange) TableName() string { return "code_exchanges" }

// notifyChannel is the Postgres NOTIFY channel that hints other instances a
// row reached a final status; the row stays the truth.
const notifyChannel = "wxlogin_exchange"

// ClaimExchange inserts the pending row unless a row for the same code, or a
// live row for the same state, exists. Whoever inserts owns the exchange: the
// database's unique indexes decide, never a read before the write.
func (db *DB) ClaimExchange(ctx context.Context, row *CodeExchange) (bool, error) {
	res := db.Gorm.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(row)
	if res.Error != nil {
		return false, res.Error
	}
	return res.RowsAffected == 1, nil
}

// exchangeColumns are CodeExchange's columns in field order, for the
// queries that scan without GORM (a test keeps them in step with the struct).
const exchangeColumns = "id, code_hash, state_hash, browser_hash, next_path, scope, status, owner, lease_until, " +
	"attempts, takeovers, duplicates, waits, restarted, user_id, openid, errcode, error_kind, created_at, updated_at, finished_at"

// exchangeRow runs a one-row query of exchangeColumns on Postgres. A
// duplicate on another instance polls its row until the owner finishes,
// several reads per duplicate: they skip GORM's statement building and
// reflective scan.
func (db *DB) exchangeRow(ctx context.Context, query string, args ...any) (*CodeExchange, error) {
	var r CodeExchange
	err := db.SQL.QueryRowContext(ctx, query, args...).Scan(&r.ID, &r.CodeHash, &r.StateHash, &r.BrowserHash, &r.NextPath,
		&r.Scope, &r.Status, &r.Owner, &r.LeaseUntil, &r.Attempts, &r.Takeovers, &r.Duplicates, &r.Waits, &r.Restarted,
		&r.UserID, &r.OpenID, &r.ErrCode, &r.ErrorKind, &r.CreatedAt, &r.UpdatedAt, &r.FinishedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// ExchangeByCode returns the row for a code hash, or ErrNotFound.
func (db *DB) ExchangeByCode(ctx context.Context, codeHash string) (*CodeExchange, error) {
	if db.Dialect == "postgres" {
		return db.exchangeRow(ctx, `SELECT `+exchangeColumns+` FROM code_exchanges WHERE code_hash = $1`, codeHash)
	}
	var r CodeExchange
	if err := db.Gorm.WithContext(ctx).Where("code_hash = ?", codeHash).Take(&r).Error; err != nil {
		return nil, notFound(err)
	}
	return &r, nil
}

// LiveExchangeByState returns the pending or done row for a state, or ErrNotFound.
func (db *DB) LiveExchangeByState(ctx context.Context, stateHash string) (*CodeExchange, error) {
	if db.Dialect == "postgres" {
		return db.exchangeRow(ctx, `SELECT `+exchangeColumns+` FROM code_exchanges WHERE state_hash = $1 AND status <> $2`, stateHash, StatusFailed)
	}
	var r CodeExchange
	err := db.Gorm.WithContext(ctx).Where("state_hash = ? AND status <> ?", stateHash, StatusFailed).Take(&r).Error
	if err != nil {
		return nil, notFound(err)
	}
	return &r, nil
}

// CompleteExchange records a successful exchange. It only applies while the
// caller still owns the pending row, so an owner that lost its lease cannot
// overwrite the one that took over.
func (db *DB) CompleteExchange(ctx context.Context, codeHash, owner string, userID int64, openid string, at time.Time) error {
	return db.finish(ctx, codeHash, owner, map[string]any{
		"status": StatusDone, "user_id": userID, "openid": openid, "updated_at": at.UTC(), "finished_at": at.UTC(),
	})
}

// FailExchange records a failed exchange with WeChat's errcode (0 if none) and a kind.
func (db *DB) FailExchange(ctx context.Context, codeHash, owner string, errcode int, kind string, at time.Time) error {
	return db.finish(ctx, codeHash, owner, map[string]any{
		"status": StatusFailed, "errcode": errcode, "error_kind": kind, "updated_at": at.UTC(), "finished_at": at.UTC(),
	})
}

// ErrLostLease means the row was no longer this owner's pending row.
var ErrLostLease = errors.New("exchange row no longer owned")

func (db *DB) finish(ctx context.Context, codeHash, owner string, set map[string]any) error {
	if db.Dialect == "postgres" {
		return db.finishNotify(ctx, codeHash, owner, set)
	}
	res := db.Gorm.WithContext(ctx).Model(&CodeExchange{}).
		Where("code_hash = ? AND owner = ? AND status = ?", codeHash, owner, StatusPending).Updates(set)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrLostLease
	}
	return nil
}

// finishNotify is finish on Postgres in one round trip: the UPDATE and the
// NOTIFY that wakes waiters on other instances are one statement, so they
// also commit together. Every login's owner runs it; the separate
// SELECT pg_notify was a tenth of a login's database round trips.
func (db *DB) finishNotify(ctx context.Context, codeHash, owner string, set map[string]any) error {
	cols := slices.Sorted(maps.Keys(set))
	args := make([]any, 0, len(cols)+4)
	var q strings.Builder
	q.WriteString("WITH u AS (UPDATE code_exchanges SET ")
	for i, c := range cols {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(c)
		q.WriteString(" = ?")
		args = append(args, set[c])
	}
	q.WriteString(" WHERE code_hash = ? AND owner = ? AND status = ? RETURNING code_hash) SELECT pg_notify(?, code_hash) FROM u")
	args = append(args, codeHash, owner, StatusPending, notifyChannel)
	res := db.Gorm.WithContext(ctx).Exec(q.String(), args...)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrLostLease
	}
	return nil
}

// notify wakes waiters on other instances. It is only a hint: waiters poll
// the row too, so a lost notification costs latency, never correctness.
func (db *DB) notify(ctx context.Context, codeHash string) {
	if db.Dialect != "postgres" {
		return
	}
	_ = db.Gorm.WithContext(ctx).Exec("SELECT pg_notify(?, ?)", notifyChannel, codeHash).Error
}

// TakeOverExchange makes owner the owner of a pending row whose lease has
// expired. The conditional UPDATE lets exactly one of several waiters win.
func (db *DB) TakeOverExchange(ctx context.Context, codeHash, owner string, now, leaseUntil time.Time) (bool, error) {
	res := db.Gorm.WithContext(ctx).Model(&CodeExchange{}).
		Where("code_hash = ? AND status = ? AND lease_until < ?", codeHash, StatusPending, now.UTC()).
		Updates(map[string]any{
			"owner": owner, "lease_until": leaseUntil.UTC(), "updated_at": now.UTC(),
			"attempts": gorm.Expr("attempts + 1"), "takeovers": gorm.Expr("takeovers + 1"),
		})
	return res.RowsAffected == 1, res.Error
}

// AbandonExchange marks a pending row whose owner died as failed, so that a
// second code for the same state (Android variant B) can be claimed instead.
func (db *DB) AbandonExchange(ctx context.Context, codeHash string, now time.Time) (bool, error) {
	res := db.Gorm.WithContext(ctx).Model(&CodeExchange{}).
		Where("code_hash = ? AND status = ? AND lease_until < ?", codeHash, StatusPending, now.UTC()).
		Updates(map[string]any{"status": StatusFailed, "error_kind": "abandoned", "updated_at": now.UTC(), "finished_at": now.UTC()})
	if res.RowsAffected == 1 {
		db.notify(ctx, codeHash)
	}
	return res.RowsAffected == 1, res.Error
}

// NoteDuplicate counts a duplicate callback absorbed by a row, and whether
// it had to wait for the exchange to finish.
func (db *DB) NoteDuplicate(ctx context.Context, codeHash string, waited bool) error {
	set := map[string]any{"duplicates": gorm.Expr("duplicates + 1")}
	if waited {
		set["waits"] = gorm.Expr("waits + 1")
	}
	return db.Gorm.WithContext(ctx).Model(&CodeExchange{}).Where("code_hash = ?", codeHash).UpdateColumns(set).Error
}

// MarkRestarted records that the login of a rejected code was restarted.
func (db *DB) MarkRestarted(ctx context.Context, codeHash string) error {
	return db.Gorm.WithContext(ctx).Model(&CodeExchange{}).Where("code_hash = ?", codeHash).
		UpdateColumn("restarted", true).Error
}

// CountExchanges counts rows, all or of one status.
func (db *DB) CountExchanges(ctx context.Context, status string) (int64, error) {
	var n int64
	q := db.Gorm.WithContext(ctx).Model(&CodeExchange{})
	if status != "" {
		q = q.Where("status = ?", status)
	}
	return n, q.Count(&n).Error
}
