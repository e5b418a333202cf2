package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"
)

// Issue 17's per-state bound, the bare way (BARE_STATE_BOUND=1).
//
// wxlogin lets a state (here: a pre-login session, which holds one state)
// cost at most one rejected WeChat call: one code of the state in flight at
// a time, and no code at all after one WeChat rejected. Without the bound a
// session can make the server call WeChat once per made-up code, without
// limit. The yardstick does it with one partial unique index:
//
//   - a claim row whose code has no user yet (in flight, or failed) holds
//     its session's slot in bare_claims_pending_session_idx, so the claim
//     statement (claimBoundSQL, ON CONFLICT DO NOTHING on any unique index)
//     makes no row for a second code of the state while the first is in
//     flight;
//   - a finished login sets user_id and frees the slot; a failed exchange
//     sets failed and keeps user_id NULL, so it holds the slot for good:
//     the state is used up, whatever is sent later;
//   - the second code of Android's variant B waits for the first's outcome,
//     polling like a duplicate (waitTurn), and then claims and exchanges
//     its own code, or is refused if the first was rejected.
//
// The uniqueness check sees the latest committed rows (and waits for an
// inserting or updating transaction), not the statement's snapshot, so no
// interleaving gets a second code past a pending or failed one. What it
// leaves out against wxlogin: no lease (an owner that dies holds the slot;
// the state's second code waits dupWait and gets 503, the browser restarts
// the login) and no check that the two codes of a state belong to one person.
const (
	boundSchema = `CREATE UNIQUE INDEX IF NOT EXISTS bare_claims_pending_session_idx
		ON bare_claims (session_hash) WHERE user_id IS NULL`
	// dropBoundSchema keeps a database last used with the bound from
	// bounding a run without it.
	dropBoundSchema = `DROP INDEX IF EXISTS bare_claims_pending_session_idx`
)

// turnSQL says, for a code that made no claim row: whose claim the code is
// (NULL: nobody's yet; true: this session's), whether the state is this
// session's pending state, and the state's slot (NULL: free; false: a code
// in flight; true: a code WeChat rejected).
const turnSQL = `SELECT
	(SELECT session_hash = $2 FROM bare_claims WHERE code_hash = $1),
	EXISTS (SELECT 1 FROM bare_sessions WHERE id_hash = $2 AND state = $3 AND user_id IS NULL),
	(SELECT failed FROM bare_claims WHERE session_hash = $2 AND user_id IS NULL)`

// waitTurn handles a code the claim refused under the bound: it waits while
// another code of the state is in flight (polling a few milliseconds apart
// at first, backing off to 20 ms, within dupWait), then claims and
// exchanges this code; a used-up state gets WeChat's refusal without a
// WeChat call, a code claimed meanwhile goes the duplicate's way.
func (s *server) waitTurn(ctx context.Context, w http.ResponseWriter, r *http.Request, code, codeHash, sess, state string) {
	ctx, cancel := context.WithTimeout(ctx, dupWait)
	defer cancel()
	wait := time.Millisecond
	for {
		var (
			mine  *bool
			known bool
			slot  *bool
		)
		if err := s.pool.QueryRow(ctx, turnSQL, codeHash, sess, state).Scan(&mine, &known, &slot); err != nil {
			unavailable(w, r)
			return
		}
		switch {
		case mine != nil && *mine:
			s.duplicate(ctx, w, r, code, codeHash, sess, state)
			return
		case mine != nil || !known:
			s.replay(ctx, w, r, codeHash, sess)
			return
		case slot != nil && *slot:
			http.Error(w, "WeChat did not accept the login; try again", http.StatusBadGateway)
			return
		case slot == nil:
			// The first code finished: claim this one. Detached, like the
			// callback's own claim: an abort must not strand a claimed code.
			// No row means somebody took the slot or the code in between:
			// look again after the pause.
			dctx := context.WithoutCancel(ctx)
			next, err := s.claim(dctx, codeHash, sess, state)
			switch {
			case err == nil:
				s.own(dctx, w, r, code, codeHash, next)
				return
			case !errors.Is(err, pgx.ErrNoRows):
				unavailable(w, r)
				return
			}
		}
		if !pause(ctx, &wait) {
			unavailable(w, r)
			return
		}
	}
}
