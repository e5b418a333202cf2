package models

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"
)

// Exchange statuses.
const (
	StatusPending = "pending"
	StatusDone    = "done"
	StatusFailed  = "failed"
)

// Failure kinds that use up a state: after WeChat rejected one of its codes,
// or one of its codes logged in somebody else than an earlier one did, no
// further code of that state is ever sent to WeChat (the login restarts
// with a new state instead). This bounds what one state can cost.
const (
	KindRejected = "rejected"
	KindMismatch = "mismatch"
	// KindSpent marks a code claimed in the instant its state was used up
	// (see ClaimExchange); it is never sent to WeChat.
	KindSpent = "spent"
)

// KindSnapshot is a failed row whose code belonged to a snapshot-page
// visitor (is_snapshotuser): not an error, the person has not authorized
// yet. The admin pages count them apart from failures.
const KindSnapshot = "snapshot"

// KindDisabled marks a done row whose user was disabled when the exchange
// finished: WeChat's part succeeded, the login was refused. The row stays
// done (duplicates go by it and refuse the same way); the admin pages show
// it as a refusal, never as a login.
const KindDisabled = "disabled"

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

	// Read with the row, on the database's clock (never an instance's, which
	// may be off by seconds): whether the lease has run out, and the row's age.
	LeaseExpired bool          `gorm:"-"`
	Age          time.Duration `gorm:"-"`

	// The row's user as it stands at the read, looked up in the same
	// statement (a duplicate answers from a finished row with these, in one
	// round trip): whether it still exists, whether it is disabled now, and
	// its unionid.
	UserExists   bool    `gorm:"-"`
	UserDisabled bool    `gorm:"-"`
	UserUnionID  *string `gorm:"-"`
}

// TableName pins the table name.
func (CodeExchange) TableName() string { return "code_exchanges" }

// Fence identifies one claim of a row: the owner's name and the attempt
// number the claim (or takeover) gave it. Every finishing write checks both,
// so an owner that lost its row — its lease ran out and another took over,
// or it is a stale process with the same instance name — cannot overwrite it.
type Fence struct {
	Owner   string
	Attempt int
	// Waiters is how many duplicates of the code waited on the owner in
	// its own process when it writes the row's final status: the finishing
	// write adds them to the row's duplicates and waits, so that they need
	// no statement of their own (exchange: flight.joined, flight.counted).
	// Zero for every other use of a fence.
	Waiters int
}

// notifyChannel is the Postgres NOTIFY channel that hints other instances a
// row reached a final status; the row stays the truth.
const notifyChannel = "wxlogin_exchange"

// ErrLostLease means the row was no longer this owner's pending row.
var ErrLostLease = errors.New("exchange row no longer owned")

// rebind turns the ? placeholders of a query into Postgres's $n. Queries
// here are written once, with ?, for both dialects.
func (db *DB) rebind(q string) string {
	if db.Dialect != "postgres" {
		return q
	}
	return dollarPlaceholders(q)
}

// clock returns the SQL for "now" and its arguments. On Postgres it is the
// server's now(), shared by every instance; the embedded SQLite belongs to
// one process, whose clock is then the database's.
func (db *DB) clock() (string, []any) {
	if db.Dialect == "postgres" {
		return "now()", nil
	}
	return "?", []any{time.Now().UTC()}
}

// after returns SQL for "now + d" on the database's clock.
func (db *DB) after(d time.Duration) (string, []any) {
	if db.Dialect == "postgres" {
		return "now() + make_interval(secs => ?)", []any{d.Seconds()}
	}
	return "?", []any{time.Now().UTC().Add(d)}
}

// ClaimExchange inserts row as pending, owned by row.Owner with attempt 1
// and a lease of the given length on the database's clock, unless the code
// already has a row, another code of the same state is pending, or the
// state is used up (KindRejected/KindMismatch). Whoever inserts owns the
// exchange: unique indexes decide, never a read before the write.
//
// A successful claim also returns the openid that an earlier code of the
// same state logged in, if any ("" otherwise). No other code of the state
// can be pending meanwhile, so this is every earlier result there will be.
//
// The NOT EXISTS reads the statement's snapshot: a code of the state that
// was pending then and rejected just before the unique index is checked
// lets the insert through. So when the state had other rows, the claim looks
// again after its commit, and a state used up meanwhile turns the new row
// into a KindSpent failure instead of a claim: one rejected code per state,
// exactly (TestOneStateAllowsOneRejectedCode).
func (db *DB) ClaimExchange(ctx context.Context, row *CodeExchange, lease time.Duration) (claimed bool, priorOpenID string, err error) {
	now, nowArgs := db.clock()
	until, untilArgs := db.after(lease)
	q := `INSERT INTO code_exchanges (code_hash, state_hash, browser_hash, next_path, scope, status, owner, lease_until,
		attempts, created_at, updated_at)
		SELECT ?, ?, ?, ?, ?, ?, ?, ` + until + `, 1, ` + now + `, ` + now + `
		WHERE NOT EXISTS (SELECT 1 FROM code_exchanges WHERE state_hash = ? AND status = ? AND error_kind IN (?, ?))
		ON CONFLICT DO NOTHING
		RETURNING (SELECT p.openid FROM code_exchanges p WHERE p.state_hash = ? AND p.status = ? ORDER BY p.id LIMIT 1),
			(SELECT count(*) FROM code_exchanges o WHERE o.state_hash = ? AND o.code_hash <> ?)`
	args := []any{row.CodeHash, row.StateHash, row.BrowserHash, row.NextPath, row.Scope, StatusPending, row.Owner}
	args = append(args, untilArgs...)
	args = append(args, nowArgs...)
	args = append(args, nowArgs...)
	args = append(args, row.StateHash, StatusFailed, KindRejected, KindMismatch, row.StateHash, StatusDone, row.StateHash, row.CodeHash)
	var (
		prior  sql.NullString
		others int
	)
	err = db.queryRow(ctx, db.rebind(q), args...).Scan(&prior, &others)
	if errors.Is(err, sql.ErrNoRows) {
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	if others == 0 {
		return true, prior.String, nil // a state's first code: nothing to look at again
	}
	var spent bool
	err = db.queryRow(ctx, db.rebind(`SELECT EXISTS (SELECT 1 FROM code_exchanges WHERE state_hash = ? AND status = ? AND error_kind IN (?, ?)),
		(SELECT p.openid FROM code_exchanges p WHERE p.state_hash = ? AND p.status = ? ORDER BY p.id LIMIT 1)`),
		row.StateHash, StatusFailed, KindRejected, KindMismatch, row.StateHash, StatusDone).Scan(&spent, &prior)
	if err != nil {
		return false, "", err
	}
	if spent {
		if err := db.FailExchange(ctx, row.CodeHash, Fence{Owner: row.Owner, Attempt: 1}, 0, KindSpent); err != nil {
			return false, "", err
		}
		return false, "", nil
	}
	return true, prior.String, nil
}

// exchangeColumns are CodeExchange's columns in field order, followed by the
// two values computed on the database's clock (a test keeps them in step).
const exchangeColumns = "id, code_hash, state_hash, browser_hash, next_path, scope, status, owner, lease_until, " +
	"attempts, takeovers, duplicates, waits, restarted, user_id, openid, errcode, error_kind, created_at, updated_at, finished_at"

// exchangeUser is what every exchange read adds about the row's user: 0 for
// none (no user_id, or the user was deleted since), 1 enabled, 2 disabled;
// and its unionid.
const exchangeUser = `, (SELECT CASE WHEN u.disabled THEN 2 ELSE 1 END FROM users u WHERE u.id = code_exchanges.user_id),
	(SELECT u.unionid FROM users u WHERE u.id = code_exchanges.user_id) FROM code_exchanges`

// selectExchanges is the query prefix of every exchange read.
func (db *DB) selectExchanges() (string, []any) {
	if db.Dialect == "postgres" {
		return `SELECT ` + exchangeColumns + `, lease_until < now(), EXTRACT(EPOCH FROM now() - created_at)::float8` + exchangeUser, nil
	}
	now := time.Now().UTC()
	return `SELECT ` + exchangeColumns + `, lease_until < ?, 0.0` + exchangeUser, []any{now}
}

// scanFunc is a Scan method as a value (queryEach's rows).
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }

func scanExchange(sc interface{ Scan(...any) error }, r *CodeExchange) error {
	var (
		age       float64
		userState sql.NullInt64
	)
	err := sc.Scan(&r.ID, &r.CodeHash, &r.StateHash, &r.BrowserHash, &r.NextPath,
		&r.Scope, &r.Status, &r.Owner, &r.LeaseUntil, &r.Attempts, &r.Takeovers, &r.Duplicates, &r.Waits, &r.Restarted,
		&r.UserID, &r.OpenID, &r.ErrCode, &r.ErrorKind, &r.CreatedAt, &r.UpdatedAt, &r.FinishedAt, &r.LeaseExpired, &age,
		&userState, &r.UserUnionID)
	r.Age = time.Duration(age * float64(time.Second))
	r.UserExists, r.UserDisabled = userState.Int64 > 0, userState.Int64 == 2
	return err
}

// sqliteAge fills Age on SQLite, whose clock is this process's.
func (db *DB) sqliteAge(r *CodeExchange) {
	if db.Dialect != "postgres" {
		r.Age = time.Now().UTC().Sub(r.CreatedAt)
	}
}

// ExchangeByCode returns the row for a code hash, or ErrNotFound.
func (db *DB) ExchangeByCode(ctx context.Context, codeHash string) (*CodeExchange, error) {
	q, args := db.selectExchanges()
	var r CodeExchange
	err := scanExchange(db.queryRow(ctx, db.rebind(q+` WHERE code_hash = ?`), append(args, codeHash)...), &r)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	db.sqliteAge(&r)
	return &r, nil
}

// maxStateRows bounds what one state's history read returns: a state's
// codes are claimed one at a time and a rejected one ends the state, so a
// real state has one or two rows.
const maxStateRows = 16

// ExchangesByState returns a state's rows, oldest first.
func (db *DB) ExchangesByState(ctx context.Context, stateHash string) ([]CodeExchange, error) {
	q, args := db.selectExchanges()
	var out []CodeExchange
	err := db.queryEach(ctx, db.rebind(q+` WHERE state_hash = ? ORDER BY id LIMIT `+strconv.Itoa(maxStateRows)), append(args, stateHash),
		func(scan func(...any) error) error {
			var r CodeExchange
			if err := scanExchange(scanFunc(scan), &r); err != nil {
				return err
			}
			db.sqliteAge(&r)
			out = append(out, r)
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CompleteExchange records a successful exchange, if the fence still holds.
// When the user is disabled by then, the row is marked KindDisabled: the
// login is refused (the gate tells the browser so), and the login log and
// the dashboard must not count it as a login.
func (db *DB) CompleteExchange(ctx context.Context, codeHash string, f Fence, userID int64, openid string) error {
	now, nowArgs := db.clock()
	args := append([]any{StatusDone, userID, openid, KindDisabled, userID}, nowArgs...)
	args = append(args, nowArgs...)
	return db.finish(ctx, `status = ?, user_id = ?, openid = ?,
	    error_kind = (SELECT CASE WHEN u.disabled THEN ? END FROM users u WHERE u.id = ?),
	    updated_at = `+now+`, finished_at = `+now, args, codeHash, f)
}

// FailExchange records a failed exchange with WeChat's errcode (0 if none)
// and a kind, if the fence still holds.
func (db *DB) FailExchange(ctx context.Context, codeHash string, f Fence, errcode int, kind string) error {
	now, nowArgs := db.clock()
	args := append([]any{StatusFailed, errcode, kind}, nowArgs...)
	args = append(args, nowArgs...)
	return db.finish(ctx, `status = ?, errcode = ?, error_kind = ?, updated_at = `+now+`, finished_at = `+now, args, codeHash, f)
}

// finish applies a final status to the fenced owner's pending row. On
// Postgres the UPDATE and the NOTIFY that wakes waiters on other instances
// are one statement, so they also commit together, in one round trip.
func (db *DB) finish(ctx context.Context, set string, args []any, codeHash string, f Fence) error {
	q := `UPDATE code_exchanges SET ` + set + `, duplicates = duplicates + ?, waits = waits + ?
	    WHERE code_hash = ? AND owner = ? AND attempts = ? AND status = ?`
	args = append(args, f.Waiters, f.Waiters, codeHash, f.Owner, f.Attempt, StatusPending)
	if db.Dialect == "postgres" {
		q = `WITH u AS (` + q + ` RETURNING code_hash) SELECT pg_notify(?, code_hash) FROM u`
		args = append(args, notifyChannel)
	}
	n, err := db.exec(ctx, db.rebind(q), args...)
	if err != nil {
		return err
	}
	if n == 0 {
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
	_, _ = db.exec(ctx, "SELECT pg_notify($1, $2)", notifyChannel, codeHash)
}

// TakeOverExchange makes owner the owner of a pending row whose lease has
// expired on the database's clock, with a fresh lease and the next attempt
// number, which it returns as the new fence. The conditional UPDATE lets
// exactly one of several waiters win.
func (db *DB) TakeOverExchange(ctx context.Context, codeHash, owner string, lease time.Duration) (Fence, bool, error) {
	now, nowArgs := db.clock()
	until, untilArgs := db.after(lease)
	q := `UPDATE code_exchanges SET owner = ?, lease_until = ` + until + `, updated_at = ` + now + `,
		attempts = attempts + 1, takeovers = takeovers + 1
		WHERE code_hash = ? AND status = ? AND lease_until < ` + now + ` RETURNING attempts`
	args := append([]any{owner}, untilArgs...)
	args = append(args, nowArgs...)
	args = append(args, codeHash, StatusPending)
	args = append(args, nowArgs...)
	var attempt int
	err := db.queryRow(ctx, db.rebind(q), args...).Scan(&attempt)
	if errors.Is(err, sql.ErrNoRows) {
		return Fence{}, false, nil
	}
	if err != nil {
		return Fence{}, false, err
	}
	return Fence{Owner: owner, Attempt: attempt}, true, nil
}

// AbandonExchange marks a pending row whose lease expired (on the database's
// clock) as failed, so that another code of the same state can be claimed.
func (db *DB) AbandonExchange(ctx context.Context, codeHash string) (bool, error) {
	now, nowArgs := db.clock()
	q := `UPDATE code_exchanges SET status = ?, error_kind = ?, updated_at = ` + now + `, finished_at = ` + now + `
		WHERE code_hash = ? AND status = ? AND lease_until < ` + now
	args := append([]any{StatusFailed, "abandoned"}, nowArgs...)
	args = append(args, nowArgs...)
	args = append(args, codeHash, StatusPending)
	args = append(args, nowArgs...)
	n, err := db.exec(ctx, db.rebind(q), args...)
	if n == 1 {
		db.notify(ctx, codeHash)
	}
	return n == 1, err
}

// NoteDuplicate counts a duplicate callback absorbed by a row, and whether
// it had to wait for the exchange to finish.
func (db *DB) NoteDuplicate(ctx context.Context, codeHash string, waited bool) error {
	w := 0
	if waited {
		w = 1
	}
	_, err := db.exec(ctx, db.rebind(`UPDATE code_exchanges SET duplicates = duplicates + 1, waits = waits + ? WHERE code_hash = ?`), w, codeHash)
	return err
}

// MarkRestarted records that the login of a rejected code was restarted.
func (db *DB) MarkRestarted(ctx context.Context, codeHash string) error {
	_, err := db.exec(ctx, db.rebind(`UPDATE code_exchanges SET restarted = ? WHERE code_hash = ?`), true, codeHash)
	return err
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

// Notify sends payload on the exchange wake-up channel through the pool,
// exactly as finishing an exchange does (the listener's probe uses it, so
// the probe travels the wake-ups' way, through a pooler if there is one).
func (db *DB) Notify(ctx context.Context, payload string) error {
	_, err := db.exec(ctx, "SELECT pg_notify($1, $2)", notifyChannel, payload)
	return err
}
