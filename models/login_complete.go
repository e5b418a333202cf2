package models

import (
	"context"
	"database/sql"
	"errors"
)

// Completed is what RecordLoginCompleting stored.
type Completed struct {
	UserID   int64
	Disabled bool
	// Row: the code's row was finished too; otherwise the caller completes
	// it (CompleteExchange).
	Row bool
	// Session: the session row given was written too, for the user.
	Session bool
}

// RecordLoginCompleting is RecordLogin followed by CompleteExchange for the
// owner of a code's row, in as few round trips as the login allows. On
// Postgres, a web login that links no identities (every returning user, and
// every first login WeChat gave no unionid) stores the user, its Official
// Account identity and the finished row, and wakes the other instances'
// waiters, in one statement: one round trip and one commit instead of two.
// Any other login (a mini program's, one that links or merges users, every
// login on SQLite) is stored by RecordLogin, and Row reports false: the
// caller then completes the row itself.
//
// sess, if not nil, is the browser session the login gives the person
// (dbsession.Store.LoginRow: its id derived from the browser and the state,
// so every request of the login writes the same row). The one statement
// writes it too, for the user, unless the user is disabled or the fence no
// longer held, and unless the row exists already (a duplicate request of
// the login wrote it): that saves the login's next statement and commit,
// which cost a quarter of Postgres's CPU per login (docs/BENCHMARKS.md).
// Session reports whether it was written; if not, the caller saves it
// itself.
//
// With Row true, the row is finished too, unless its fence no longer held:
// then the user is stored (as RecordLogin followed by a fenced-out
// CompleteExchange would have left it) and the error is ErrLostLease. A
// failed statement wrote nothing, so retrying it counts the login once.
func (db *DB) RecordLoginCompleting(ctx context.Context, l Login, codeHash string, f Fence, sess *Session) (c Completed, err error) {
	if l.App == AppMini || db.Dialect != "postgres" {
		c.UserID, c.Disabled, err = db.RecordLogin(ctx, l)
		return c, err
	}
	q, args := loginCompletingSQL(l, codeHash, f, sess)
	var finished, sessions int
	err = db.queryRow(ctx, db.rebind(q), args...).Scan(&c.UserID, &c.Disabled, &finished, &sessions)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// A first login with a unionid: it may link to the person's other
		// identities, which takes the locked transaction. Nothing was written.
		c.UserID, c.Disabled, err = db.recordWebLoginLinked(ctx, l)
		return c, err
	case err != nil:
		return Completed{}, err
	}
	c.Row, c.Session = true, sessions == 1
	if finished == 0 {
		return c, ErrLostLease
	}
	return c, nil
}

// loginCompletingTexts holds loginCompletingSQL's texts, indexed by the
// web upsert's kind of login and whether a session is written.
var loginCompletingTexts = func() (t [2][2][2][2][2]string) {
	for a := range 2 {
		for u := range 2 {
			for p := range 2 {
				for c := range 2 {
					for s := range 2 {
						t[a][u][p][c][s] = buildLoginCompleting(webUpsertText(a == 1, u == 1, p == 1, c == 1), s == 1)
					}
				}
			}
		}
	}
	return t
}()

func buildLoginCompleting(upsert string, session bool) string {
	q := upsert + `,
	    f AS (UPDATE code_exchanges SET status = ?, user_id = (SELECT id FROM u), openid = ?,
	        error_kind = CASE WHEN (SELECT disabled FROM u) THEN ? END, updated_at = now(), finished_at = now(),
	        duplicates = duplicates + ?, waits = waits + ?
	      WHERE code_hash = ? AND owner = ? AND attempts = ? AND status = ? AND EXISTS (SELECT 1 FROM u)
	      RETURNING code_hash)`
	written := "0"
	if session {
		q += `,
	    s AS (INSERT INTO sessions (` + sessionColumns + `)
	      SELECT ?::text, ?::text, id, NULL, ?::bytea, ?::text, ?::text, ?::timestamptz, ?::timestamptz, ?::timestamptz FROM u
	      WHERE NOT disabled AND EXISTS (SELECT 1 FROM f)
	      ON CONFLICT (id_hash) DO NOTHING
	      RETURNING 1)`
		written = "(SELECT count(*) FROM s)"
	}
	return q + `
	    SELECT id, disabled, (SELECT count(pg_notify(?, code_hash)) FROM f), ` + written + ` FROM u`
}

// loginCompletingSQL is RecordLoginCompleting's statement on Postgres: the
// web upsert, the fenced finish of the code's row, the session if given and
// the NOTIFY.
func loginCompletingSQL(l Login, codeHash string, f Fence, sess *Session) (string, []any) {
	always := l.UnionID == ""
	args := webUpsertArgs(l, always, LinkedFirst)
	q := loginCompletingTexts[b2i(always)][b2i(l.UnionID != "")][b2i(l.Profile != nil)][b2i(!l.Refresh)][b2i(sess != nil)]
	args = append(args, StatusDone, l.OpenID, KindDisabled, f.Waiters, f.Waiters, codeHash, f.Owner, f.Attempt, StatusPending)
	if sess != nil {
		data := sess.Data
		if data == nil {
			data = []byte{}
		}
		args = append(args, sess.IDHash, sess.Kind, data, sess.IP, sess.UserAgent, sess.CreatedAt.UTC(), sess.LastSeenAt.UTC(), sess.ExpiresAt.UTC())
	}
	return q, append(args, notifyChannel)
}
