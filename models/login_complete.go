package models

import (
	"context"
	"database/sql"
	"errors"
)

// RecordLoginCompleting is RecordLogin followed by CompleteExchange for the
// owner of a code's row, in as few round trips as the login allows. On
// Postgres, a web login that links no identities (every returning user, and
// every first login WeChat gave no unionid) stores the user, its Official
// Account identity and the finished row, and wakes the other instances'
// waiters, in one statement: one round trip and one commit instead of two.
// Any other login (a mini program's, one that links or merges users, every
// login on SQLite) is stored by RecordLogin, and completed reports false:
// the caller then completes the row itself.
//
// With completed true, the row is finished too, unless its fence no longer
// held: then the user is stored (as RecordLogin followed by a fenced-out
// CompleteExchange would have left it) and the error is ErrLostLease. A
// failed statement wrote nothing, so retrying it counts the login once.
func (db *DB) RecordLoginCompleting(ctx context.Context, l Login, codeHash string, f Fence) (id int64, disabled, completed bool, err error) {
	if l.App == AppMini || db.Dialect != "postgres" {
		id, disabled, err = db.RecordLogin(ctx, l)
		return id, disabled, false, err
	}
	q, args := loginCompletingSQL(l, codeHash, f)
	var finished int
	err = db.queryRow(ctx, db.rebind(q), args...).Scan(&id, &disabled, &finished)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// A first login with a unionid: it may link to the person's other
		// identities, which takes the locked transaction. Nothing was written.
		id, disabled, err = db.recordWebLoginLinked(ctx, l)
		return id, disabled, false, err
	case err != nil:
		return 0, false, false, err
	case finished == 0:
		return id, disabled, true, ErrLostLease
	}
	return id, disabled, true, nil
}

// loginCompletingSQL is RecordLoginCompleting's statement on Postgres: the
// web upsert, the fenced finish of the code's row and the NOTIFY.
func loginCompletingSQL(l Login, codeHash string, f Fence) (string, []any) {
	cte, args := webUpsertCTE(l, l.UnionID == "", LinkedFirst)
	q := cte + `,
	    f AS (UPDATE code_exchanges SET status = ?, user_id = (SELECT id FROM u), openid = ?,
	        error_kind = CASE WHEN (SELECT disabled FROM u) THEN ? END, updated_at = now(), finished_at = now(),
	        duplicates = duplicates + ?, waits = waits + ?
	      WHERE code_hash = ? AND owner = ? AND attempts = ? AND status = ? AND EXISTS (SELECT 1 FROM u)
	      RETURNING code_hash)
	    SELECT id, disabled, (SELECT count(pg_notify(?, code_hash)) FROM f) FROM u`
	args = append(args, StatusDone, l.OpenID, KindDisabled, f.Waiters, f.Waiters, codeHash, f.Owner, f.Attempt, StatusPending, notifyChannel)
	return q, args
}
