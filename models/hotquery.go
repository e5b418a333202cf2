package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// The query layer of the statements a login sends outside transactions
// (the claim, the user upsert that finishes it, the session insert and
// read, the exchange rows, user reads): one SQL text and one scan for both
// dialects, run on pgx's pool directly on Postgres and on database/sql on
// SQLite.
//
// Through database/sql, pgx's stdlib adapter sat under every one of these
// statements: per statement database/sql locks its pool, converts the
// arguments to []driver.NamedValue, watches the context of each Rows,
// turns each column into a driver.Value and converts it again into the
// destination (convertAssign). pgxpool scans straight into the
// destination: 58% fewer allocations per exchange-row or user read, 36%
// fewer per session-with-user read, and a few percent of wxlogin's CPU per
// login under load (docs/BENCHMARKS.md; the network round trip itself,
// which stays, is most of a statement's cost). The SQL, its arguments, the
// query mode and the tracer are the same as before: pgx received the
// arguments unchanged through its stdlib adapter too, and the connections
// are the pool's (db.go), which database/sql also runs on.
//
// Callers write q for db's dialect (db.rebind, db.query), exactly as for
// db.SQL, and must call Scan on every row they ask for: on Postgres it is
// Scan that returns the connection to the pool. These calls must not be
// made inside a transaction's callback: they take a connection of their
// own, and a transaction holding one while waiting for another can starve
// the pool.

// hotRow is the row of queryRow: Scan it exactly once.
type hotRow struct {
	db   *DB
	ctx  context.Context
	q    string
	args []any
	row  *sql.Row // SQLite
}

// queryRow runs a statement that returns at most one row. Scan returns an
// error matching sql.ErrNoRows when there is none, on both dialects (pgx's
// ErrNoRows wraps sql.ErrNoRows since v5.6).
func (db *DB) queryRow(ctx context.Context, q string, args ...any) hotRow {
	if db.pool == nil {
		return hotRow{row: db.SQL.QueryRowContext(ctx, q, args...)}
	}
	return hotRow{db: db, ctx: ctx, q: q, args: args}
}

// Scan copies the row's columns into dest, as (*sql.Row).Scan does.
func (r hotRow) Scan(dest ...any) error {
	if r.row != nil {
		return r.row.Scan(dest...)
	}
	var err error
	for range maxAttempts {
		if err = r.db.pool.QueryRow(r.ctx, r.q, r.args...).Scan(dest...); !retryable(err) {
			return err
		}
	}
	return err
}

// queryEach runs a statement and calls each with the Scan of every row it
// returns, in order, until each returns an error (which queryEach returns).
func (db *DB) queryEach(ctx context.Context, q string, args []any, each func(scan func(dest ...any) error) error) error {
	if db.pool == nil {
		rows, err := db.SQL.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		if err := eachRow(rows, each); err != nil {
			return err
		}
		return rows.Close()
	}
	var err error
	for range maxAttempts {
		seen := false
		if err = db.eachPgx(ctx, q, args, func(scan func(dest ...any) error) error {
			seen = true
			return each(scan)
		}); seen || !retryable(err) {
			return err
		}
	}
	return err
}

func (db *DB) eachPgx(ctx context.Context, q string, args []any, each func(scan func(dest ...any) error) error) error {
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := eachRow(rows, each); err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// eachRow calls each with the Scan of every row of rows (database/sql's or
// pgx's), then reports the rows' error.
func eachRow(rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}, each func(scan func(dest ...any) error) error) error {
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// exec runs a statement and returns how many rows it affected (for a
// SELECT, how many it returned).
func (db *DB) exec(ctx context.Context, q string, args ...any) (int64, error) {
	if db.pool == nil {
		res, err := db.SQL.ExecContext(ctx, q, args...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	var err error
	for range maxAttempts {
		var tag pgconn.CommandTag
		if tag, err = db.pool.Exec(ctx, q, args...); !retryable(err) {
			return tag.RowsAffected(), err
		}
	}
	return 0, err
}

// maxAttempts is how often a statement is sent when the connection it got
// failed before the statement reached the server: database/sql's own
// count (two tries on pooled connections, one on a new one), which these
// statements had before they left it.
const maxAttempts = 3

// retryable reports whether err shows the statement was not sent, so
// sending it again cannot apply it twice: a connection found broken before
// anything was written to it (pgconn.SafeToRetry, what pgx's database/sql
// adapter turns into driver.ErrBadConn), or a new connection closed because
// its query mode did not fit what it reached (queryMode).
func retryable(err error) bool {
	return err != nil && (pgconn.SafeToRetry(err) || errors.Is(err, driver.ErrBadConn))
}
