// Package exchange exchanges every WeChat authorization code exactly once and
// gives its result to every request of the browser that owns the code, also
// when Android WeChat sends the callback twice and aborts the first request,
// when the two requests reach different instances, or when an owner dies.
//
// # The algorithm
//
//  1. Claim. INSERT ... ON CONFLICT DO NOTHING on the code's hash. A partial
//     unique index (state_hash WHERE status = 'pending') lets one code of a
//     state be in flight at a time, and the insert's own WHERE NOT EXISTS
//     refuses a state one of whose codes WeChat rejected (or that logged in
//     another person): one state costs at most one rejected WeChat call,
//     whatever an attacker sends (TestOneStateAllowsOneRejectedCode). The
//     NOT EXISTS sees the statement's snapshot, so a claim of a state that
//     had other rows looks again after its commit and turns itself into a
//     "spent" failure if the state was used up in between.
//  2. Own. The inserting request calls WeChat on a context detached from the
//     request (the browser aborts the first request on purpose), records the
//     result under its fence (with the request's session row, where the
//     store can: Request.Session) and wakes waiters.
//  3. Wait. A request for the same code waits for its result: on this
//     instance on the owner's in-process flight (microseconds), across
//     instances woken by a Postgres NOTIFY, which is only a hint, while it
//     polls the row as the truth (2 ms doubling to 25 ms; five times slower
//     while the NOTIFY listener is connected). A failed read is retried
//     until the wait's budget ends (TestDuplicateRidesOutADatabaseBlip).
//  4. Bind. A row remembers the hashes of its state and of the browser
//     session that claimed it; another browser gets ErrForeign, also while
//     the exchange is in flight (TestStolenCodeInFlightIsForeign), and the
//     code with another state gets ErrUnknown.
//  5. Take over. A pending row whose lease expired belongs to a dead owner: a
//     waiter with the same code takes it with a conditional UPDATE and calls
//     WeChat itself; a waiter with another code of the state abandons the
//     dead row and claims its own code. If WeChat then says the code was
//     used, the login restarts (Failed.Restartable).
//
// # Only a request's own code logs it in
//
// A request's result is the result of its own code, never of another code
// of the same state. Android's "variant B" sends a second, fresh code with
// the same state: that code is exchanged with WeChat on its own (at most
// once, like every code) and must log in the same person as the state's
// earlier code, else it is refused as KindMismatch. Letting the second code
// join the first's login without WeChat's word let a planted pre-login
// cookie with a made-up code log in as its victim for 30 days
// (TestPlantedStateWithMadeUpCodeLogsNobodyIn). A request whose session no
// longer holds the state (its login renewed the session) may only join or
// claim within JoinWindow (30 s) of the state's exchange; a renewed id is
// worthless after that (TestRenewedBrowserIDCannotJoinLater).
//
// # Kinds of code
//
// The gate exchanges two kinds of code through the same claim, wait, fence
// and takeover; per kind differ only the WeChat step (Step, called by the
// owner: the web code exchange plus userinfo, or the mini program's
// jscode2session) and what binds a request to a code. A web code is bound
// to its state and browser session (above). A mini program's js_code has
// neither: its hash (namespaced, SHA-256 of "mini:" + code) is also its
// state, its browser is a constant, and every request presenting the code
// may claim it or wait for its result — only within CodeLifetime (5
// minutes, the row's age on the database's clock); a replay after that is
// ErrExpired, with no WeChat call (TestMiniCodeReplayAfterLifetimeIsRefused).
// The code is the secret: the gate hands its result only to requests that
// could have exchanged it themselves while WeChat would still take it.
//
// # Fencing and clocks
//
// A claim is fenced by (owner, attempt): the owner is the instance name plus
// a per-process nonce (two processes with one INSTANCE_ID never share it),
// the attempt is 1 for the claim and incremented by every takeover. Every
// finishing write checks both, so an owner frozen past its lease cannot
// overwrite the row its successor took over (TestFrozenOwnerIsFenced,
// TestSameInstanceNameStaleOwnerCannotOverwrite); a fenced write is not
// retried, and the flight then tells in-process waiters to read the row.
// Leases are set and compared in SQL with the database's now(): an instance
// whose clock runs ahead does not take over a live owner
// (TestFastClockDoesNotTakeOver). On the embedded SQLite, which one process
// owns, that process's clock is the database's.
//
// # Budgets
//
//   - WeChat gets OwnerTimeout (10 s) from the claim.
//   - Once WeChat has answered, the code is spent: storing the user and the
//     row get the rest of the lease (15 s) less a margin, retried through a
//     database blip (TestSpentCodeOutlivesTheWeChatBudget). Failure writes
//     run on the same budget: no owner writes after its lease ends
//     (TestOwnerNeverOutlivesItsLease).
//   - Any request spends at most MaxWait (Lease + 5 s) waiting, in-process
//     waits included; it then gets ErrWaitTimeout (503 busy), or a store
//     failure (503 unavailable) if the database kept failing — never a bare
//     context error (TestWaitsEndInWaitTimeout). WorstCase (MaxWait + Lease,
//     35 s) is what a proxy in front must allow.
//   - A panicking owner lands its flight on the way out, so later requests
//     read the row instead of waiting forever (TestOwnerPanicLeavesNoFlightBehind).
//
// # When the database is away
//
// A claim whose answer was lost after it committed is recognised as this
// gate's own and goes on (TestClaimCommittedDespiteAnErrorIsOwned). A spent
// code whose result cannot be stored within the lease is lost for this
// login: the row stays pending, a waiter takes it over after the lease, gets
// 40163 from WeChat and restarts the login silently. The person sees one
// restart, never two exchanges of one code.
//
// # Re-sends
//
// None. The code exchange is made non-replayable in the wechat package, so
// net/http never re-sends it on a reused connection that died mid-request
// (wechat.TestCodeCallsAreNeverReplayed); the only second WeChat call for a
// code is a takeover after its owner's lease ran out, which WeChat answers
// with 40163 if the first call had used it.
//
// Package fault holds the store and WeChat fault layer these tests use.
package exchange
