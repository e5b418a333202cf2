package exchange_test

import (
	"context"
	"testing"
	"time"

	"wxlogin/exchange"
	"wxlogin/exchange/fault"
	"wxlogin/models"
)

// Duplicates that wait on their owner in the same process are counted on
// the row by the owner's finishing write, not with a statement each: n
// duplicates joined while the owner was at WeChat answer with its login,
// the row says n duplicates and n waits, and NoteDuplicate is never called.
// A duplicate that comes after the owner finished still counts itself.
// Both dialects (the finishing writes differ: one statement on Postgres,
// the user and the row apart on SQLite).
func TestOwnerCountsTheDuplicatesWaitingOnIt(t *testing.T) {
	bothDialects(t, func(t *testing.T, w *world) {
		const n = 12
		g := w.faultyGate(t, "a", exchange.Config{})
		joined := make(chan struct{}, n)
		exchange.OnJoin(g.gate, func() { joined <- struct{}{} })
		held := fault.NewBarrier()
		g.wx.On("ExchangeCode", ignoringContext(held))
		req := exchange.Request{Code: mustCode(t, w, "zhangsan"), State: "s", BrowserID: "b", MayClaim: true}
		owner := async(g.gate, req)
		await(t, held.Arrived(), "the owner at WeChat")
		dups := make([]<-chan outcome, n)
		for i := range dups {
			dups[i] = async(g.gate, req)
		}
		for range n {
			select {
			case <-joined:
			case <-time.After(20 * time.Second):
				t.Fatal("the duplicates did not join the owner's flight in 20 s")
			}
		}
		held.Release()
		o := recv(t, owner)
		if o.err != nil || o.res.UserID == 0 || o.res.Duplicate {
			t.Fatalf("owner: %+v %v", o.res, o.err)
		}
		for _, ch := range dups {
			d := recv(t, ch)
			if d.err != nil || d.res.UserID != o.res.UserID || !d.res.Duplicate {
				t.Fatalf("duplicate: %+v %v, want the owner's login", d.res, d.err)
			}
		}
		if calls := g.store.Calls("NoteDuplicate"); calls != 0 {
			t.Fatalf("NoteDuplicate called %d times; the owner's write should have counted every waiting duplicate", calls)
		}
		row, err := w.db.ExchangeByCode(context.Background(), exchange.Hash(req.Code))
		if err != nil || row.Status != models.StatusDone || row.Duplicates != n || row.Waits != n {
			t.Fatalf("row %+v %v, want done with %d duplicates and waits", row, err, n)
		}
		// After the owner: no flight to join, the duplicate counts itself.
		if late := recv(t, async(g.gate, req)); late.err != nil || late.res.UserID != o.res.UserID {
			t.Fatalf("late duplicate: %+v %v", late.res, late.err)
		}
		row, err = w.db.ExchangeByCode(context.Background(), exchange.Hash(req.Code))
		if err != nil || row.Duplicates != n+1 || g.store.Calls("NoteDuplicate") != 1 {
			t.Fatalf("after a late duplicate: row %+v %v, NoteDuplicate calls %d; want %d duplicates and one call", row, err, g.store.Calls("NoteDuplicate"), n+1)
		}
	})
}
