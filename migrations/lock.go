package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// migrationLockKey is the advisory lock key wxlogin's migrations take
// (an arbitrary constant: "wxlogin" in ASCII, as a bigint).
const migrationLockKey int64 = 0x77786c6f67696e

// lockTimeout bounds the wait for another instance's migration.
const lockTimeout = 5 * time.Minute

// lockPostgres takes the migration lock and returns the function that
// releases it. The lock is transaction-scoped (pg_advisory_xact_lock) and
// held by a transaction kept open while goose migrates on the pool's other
// connections: a transaction is the one thing a transaction-mode pooler
// (PgBouncer and the like) keeps on one server connection, so the lock works
// through it, where goose's session-level lock did not (a session lock is
// taken on one server connection and "released" on whichever another
// statement lands on). If the process dies, its connection closes, the
// transaction is rolled back and the lock goes with it, so a crash never
// leaves a stale lock. Waiting instances block in Postgres and are released
// the moment the migrating one commits; ctx (bounded by lockTimeout) ends the
// wait. The pool needs two connections for this: one for the lock, one for
// the migrations.
func lockPostgres(ctx context.Context, db *sql.DB) (unlock func() error, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("taking the migration lock: %w", err)
	}
	wctx, cancel := context.WithTimeout(ctx, lockTimeout)
	_, err = tx.ExecContext(wctx, "SELECT pg_advisory_xact_lock($1)", migrationLockKey)
	cancel()
	if err != nil {
		_ = tx.Rollback()
		if errors.Is(wctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
			return nil, fmt.Errorf("another instance held the migration lock for more than %s", lockTimeout)
		}
		return nil, fmt.Errorf("taking the migration lock: %w", err)
	}
	// Nothing was written in this transaction; committing only ends it.
	return tx.Commit, nil
}
