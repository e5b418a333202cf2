// Package exchange exchanges every WeChat authorization code exactly once and
// gives its result to every request of the browser that owns the code, also
// when Android WeChat sends the callback twice and aborts the first request,
// when the two requests reach different instances, or when an owner dies.
//
// The algorithm, and where it improves on DESIGN.md's sketch:
//
//  1. Claim. INSERT ... ON CONFLICT DO NOTHING on the code's hash; a second,
//     partial unique index (state_hash WHERE status <> 'failed') makes the
//     insert also fail when another code of the same state is live. So the
//     second code of an Android "variant B" double callback is never sent to
//     WeChat at all: it joins the first code's exchange.
//  2. Own. The inserting request calls WeChat on a context detached from the
//     request (the browser aborts the first request on purpose) with its own
//     timeout, shorter than the lease, records the result and wakes waiters.
//  3. Wait. Before touching the database, a request looks for an in-process
//     flight of the same code or state and waits on its channel: the same
//     instance answers a duplicate microseconds after the owner. Otherwise it
//     wakes on a Postgres NOTIFY, which is only a hint, and polls the row as
//     the truth with a doubling interval (2 ms up to 25 ms; five times slower
//     while the NOTIFY listener is connected, as the polls then only cover
//     a lost hint).
//  4. Bind. A row remembers the hash of the browser session that claimed it;
//     a different browser gets ErrForeign and nothing else.
//  5. Take over. A pending row whose lease expired belongs to a dead owner:
//     a waiter with the same code takes it with a conditional UPDATE and calls
//     WeChat itself; a waiter with another code of the same state abandons the
//     dead row and claims its own code instead. If WeChat then says the code
//     was used, the caller restarts the login (Failed.Restartable).
package exchange
