package exchange_test

// Tests from the review of the gate (issue 19) and the planted-cookie attack
// (issue 17.1). Each one failed on the gate before the change it names;
// docs/SECURITY.md and exchange/doc.go point here.

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wxlogin/exchange"
	"wxlogin/exchange/fault"
	"wxlogin/models"
	"wxlogin/wechat"
)

// 17.1: a state and the browser id it belongs to, presented after the
// browser's login with a code WeChat never issued for that login, log
// nobody in — whether the session still holds the state (a sealed cookie
// copied by the attacker) or not (the id was renewed), inside the join
// window or after it.
func TestPlantedStateWithMadeUpCodeLogsNobodyIn(t *testing.T) {
	bothDialects(t, func(t *testing.T, w *world) {
		for _, may := range []bool{true, false} {
			g := w.faultyGate(t, "a", exchange.Config{})
			state, browser := "planted-state", "planted-browser"
			if may {
				state += "-live"
			}
			victim, err := g.gate.Exchange(context.Background(), exchange.Request{
				Code: mustCode(t, w, "zhangsan"), State: state, BrowserID: browser, MayClaim: true, Next: "/profile"})
			if err != nil || victim.UserID == 0 {
				t.Fatalf("victim's login: %+v %v", victim, err)
			}
			madeUp := "MADEUPCODE00000000000000000000" + map[bool]string{true: "1", false: "2"}[may]
			res, err := g.gate.Exchange(context.Background(), exchange.Request{
				Code: madeUp + "a", State: state, BrowserID: browser, MayClaim: may})
			if err == nil || res.UserID != 0 {
				t.Fatalf("MayClaim=%v: a made-up code logged in user %d (err %v)", may, res.UserID, err)
			}
			// The state is used up: a further code is not even sent to WeChat.
			before := g.wx.Calls("ExchangeCode")
			res, err = g.gate.Exchange(context.Background(), exchange.Request{
				Code: madeUp + "b", State: state, BrowserID: browser, MayClaim: may})
			var failed *exchange.Failed
			if res.UserID != 0 || !errors.As(err, &failed) || !failed.Restartable() || g.wx.Calls("ExchangeCode") != before {
				t.Fatalf("MayClaim=%v: second made-up code: user %d, %v, %d WeChat calls", may, res.UserID, err, g.wx.Calls("ExchangeCode")-before)
			}
		}
	})
}

// 17.1: after the join window, a renewed browser id joins nothing, not even
// with the real code.
func TestRenewedBrowserIDCannotJoinLater(t *testing.T) {
	w := newWorld(t)
	g := w.faultyGate(t, "a", exchange.Config{JoinWindow: time.Millisecond})
	code := mustCode(t, w, "zhangsan")
	if _, err := g.gate.Exchange(context.Background(), exchange.Request{Code: code, State: "s", BrowserID: "b", MayClaim: true}); err != nil {
		t.Fatal(err)
	}
	// The row is older than the window by the time it is read again.
	for _, c := range []string{code, "MADEUPCODE0000000000000000000003"} {
		res, err := g.gate.Exchange(context.Background(), exchange.Request{Code: c, State: "s", BrowserID: "b"})
		if !errors.Is(err, exchange.ErrUnknown) || res.UserID != 0 {
			t.Fatalf("join after the window: user %d, %v; want ErrUnknown", res.UserID, err)
		}
	}
	if n := g.wx.Calls("ExchangeCode"); n != 1 {
		t.Fatalf("%d WeChat calls, want 1", n)
	}
}

// 17.1: a second code of a state that logs in another person than the
// first is refused (a state logs in one person), and that uses the state up.
func TestSecondCodeOfAnotherPersonIsRefused(t *testing.T) {
	bothDialects(t, func(t *testing.T, w *world) {
		g := w.faultyGate(t, "a", exchange.Config{})
		req := exchange.Request{Code: mustCode(t, w, "zhangsan"), State: "s", BrowserID: "b", MayClaim: true}
		if _, err := g.gate.Exchange(context.Background(), req); err != nil {
			t.Fatal(err)
		}
		req.Code = mustCode(t, w, "emoji")
		res, err := g.gate.Exchange(context.Background(), req)
		var failed *exchange.Failed
		if res.UserID != 0 || !errors.As(err, &failed) || failed.Kind != models.KindMismatch {
			t.Fatalf("another person's code: user %d, %v; want a mismatch failure", res.UserID, err)
		}
		// The same person's second code (Android variant B) is fine.
		req.State, req.Code = "s2", mustCode(t, w, "zhangsan")
		first, err := g.gate.Exchange(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		req.Code = mustCode(t, w, "zhangsan")
		second, err := g.gate.Exchange(context.Background(), req)
		if err != nil || second.UserID != first.UserID {
			t.Fatalf("same person's second code: %+v %v", second, err)
		}
	})
}

// 17.3: one state with many made-up codes, released together on two
// instances, reaches WeChat at most once.
func TestOneStateAllowsOneRejectedCode(t *testing.T) {
	bothDialects(t, func(t *testing.T, w *world) {
		gates := []*faulty{w.faultyGate(t, "a", exchange.Config{}), w.faultyGate(t, "b", exchange.Config{})}
		const n = 60
		_, errs := raceGate(n, func(i int) (exchange.Result, error) {
			code := "MADEUP" + string(rune('A'+i%26)) + string(rune('A'+i/26)) + "000000000000000000000000"
			return gates[i%2].gate.Exchange(context.Background(), exchange.Request{Code: code, State: "s", BrowserID: "b", MayClaim: true})
		})
		for i, err := range errs {
			var failed *exchange.Failed
			if !errors.As(err, &failed) || !failed.Restartable() {
				t.Fatalf("request %d: %v; want a restartable failure", i, err)
			}
		}
		if calls := gates[0].wx.Calls("ExchangeCode") + gates[1].wx.Calls("ExchangeCode"); calls != 1 {
			t.Fatalf("%d WeChat calls for one state, want 1", calls)
		}
	})
}

// 19.2: a duplicate on another instance rides out a failed database read
// while its owner is at WeChat, and gets the owner's login.
func TestDuplicateRidesOutADatabaseBlip(t *testing.T) {
	w := newWorld(t)
	owner, dup := w.faultyGate(t, "a", exchange.Config{}), w.faultyGate(t, "b", exchange.Config{})
	atWeChat := fault.NewBarrier()
	owner.wx.On("ExchangeCode", atWeChat.Hook())
	failed := make(chan struct{})
	dup.store.On("ExchangeByCode", signalAfter(3, failed))
	dup.store.On("ExchangeByCode", fault.FailFirst(3))
	req := exchange.Request{Code: mustCode(t, w, "zhangsan"), State: "s", BrowserID: "b", MayClaim: true}
	first := async(owner.gate, req)
	await(t, atWeChat.Arrived(), "the owner at WeChat")
	second := async(dup.gate, req)
	await(t, failed, "three failed reads")
	atWeChat.Release()
	a, b := recv(t, first), recv(t, second)
	if a.err != nil || b.err != nil || b.res.UserID != a.res.UserID || !b.res.Duplicate {
		t.Fatalf("owner %+v %v; duplicate %+v %v", a.res, a.err, b.res, b.err)
	}
}

// 19.3: WeChat answers at the very end of the owner's WeChat budget and
// the database blips: the spent code's login still reaches the row, on a
// budget of its own bounded by the lease.
func TestSpentCodeOutlivesTheWeChatBudget(t *testing.T) {
	w := newWorld(t)
	// The WeChat budget is generous so that a slow machine (the race
	// detector) still gets the exchange done inside it; the hook below then
	// holds userinfo's answer until that budget has run out.
	g := w.faultyGate(t, "a", exchange.Config{Lease: 12 * time.Second, OwnerTimeout: 3 * time.Second})
	g.wx.On("UserInfo", func(ctx context.Context, call func(context.Context) error) error {
		err := call(ctx)
		<-ctx.Done() // the answer arrives as the WeChat budget ends
		return err
	})
	g.store.On("RecordLogin", fault.FailFirst(2))
	code := mustCode(t, w, "zhangsan")
	res, err := g.gate.Exchange(context.Background(), exchange.Request{Code: code, State: "s", BrowserID: "b", MayClaim: true})
	if err != nil || res.UserID == 0 {
		t.Fatalf("login lost: %+v %v", res, err)
	}
	row, err := w.db.ExchangeByCode(context.Background(), exchange.Hash(code))
	if err != nil || row.Status != models.StatusDone {
		t.Fatalf("row: %+v %v", row, err)
	}
	if g.store.Calls("RecordLogin") != 3 {
		t.Fatalf("RecordLogin called %d times, want 3 (two failures retried)", g.store.Calls("RecordLogin"))
	}
}

// 19.4: Android variant B on one instance: the first code fails for good
// (WeChat unavailable); the second code is still tried and logs in — as it
// does when it reaches another instance.
func TestSecondCodeIsTriedAfterTheFirstFailedOnOneInstance(t *testing.T) {
	w := newWorld(t)
	g := w.faultyGate(t, "a", exchange.Config{})
	atWeChat := fault.NewBarrier()
	g.wx.On("ExchangeCode", atWeChat.Hook())
	g.wx.On("ExchangeCode", fault.FailFirst(1))
	code1, code2 := mustCode(t, w, "zhangsan"), mustCode(t, w, "zhangsan")
	first := async(g.gate, exchange.Request{Code: code1, State: "s", BrowserID: "b", MayClaim: true})
	await(t, atWeChat.Arrived(), "the first code at WeChat")
	second := async(g.gate, exchange.Request{Code: code2, State: "s", BrowserID: "b", MayClaim: true})
	atWeChat.Release()
	if o := recv(t, first); o.err == nil {
		t.Fatalf("first code: %+v, want its injected failure", o.res)
	}
	if o := recv(t, second); o.err != nil || o.res.UserID == 0 {
		t.Fatalf("second code: %+v %v; want logged in", o.res, o.err)
	}
	if w.sim.ExchangeCount(code2) != 1 {
		t.Fatalf("second code exchanged %d times", w.sim.ExchangeCount(code2))
	}
}

// 19.5: an owner frozen past its lease is fenced. Its WeChat call failed
// and it froze (a GC pause, a stopped VM) before writing that down; another
// instance took the row over and finished it. The frozen owner's failure
// write is refused once (not retried for a whole timeout), and a duplicate
// waiting on the frozen owner's instance gets the row's login, not the
// stale failure.
func TestFrozenOwnerIsFenced(t *testing.T) {
	bothDialects(t, func(t *testing.T, w *world) {
		cfg := exchange.Config{Lease: 400 * time.Millisecond, OwnerTimeout: 200 * time.Millisecond}
		a, b := w.faultyGate(t, "a", cfg), w.faultyGate(t, "b", cfg)
		frozen := fault.NewBarrier()
		a.wx.On("ExchangeCode", fault.FailFirst(1)) // unavailable: the code is not spent
		a.store.On("FailExchange", ignoringContext(frozen))
		req := exchange.Request{Code: mustCode(t, w, "zhangsan"), State: "s", BrowserID: "b", MayClaim: true}
		owner := async(a.gate, req)
		await(t, frozen.Arrived(), "the owner frozen before its failure write")
		local := async(a.gate, req) // a duplicate on the frozen owner's instance
		taken := recv(t, async(b.gate, req))
		if taken.err != nil || taken.res.UserID == 0 {
			t.Fatalf("takeover: %+v %v", taken.res, taken.err)
		}
		frozen.Release()
		recv(t, owner)
		if n := a.store.Calls("FailExchange"); n != 1 {
			t.Fatalf("the fenced owner wrote its failure %d times, want once", n)
		}
		if o := recv(t, local); o.err != nil || o.res.UserID != taken.res.UserID {
			t.Fatalf("duplicate on the frozen owner's instance: %+v %v; want the row's login", o.res, o.err)
		}
		row, _ := w.db.ExchangeByCode(context.Background(), exchange.Hash(req.Code))
		if row.Status != models.StatusDone || row.Attempts != 2 {
			t.Fatalf("row: status %s attempts %d; want done by attempt 2", row.Status, row.Attempts)
		}
	})
}

// 19.5: two processes with the same INSTANCE_ID (a rolling deploy): the
// old one freezes right before completing the row, the new one takes the
// row over; when the old one wakes, its write is refused although the
// instance name matches, and the row stays the new owner's.
func TestSameInstanceNameStaleOwnerCannotOverwrite(t *testing.T) {
	bothDialects(t, func(t *testing.T, w *world) {
		cfg := exchange.Config{Lease: 400 * time.Millisecond, OwnerTimeout: 200 * time.Millisecond}
		old, fresh := w.faultyGate(t, "web-1", cfg), w.faultyGate(t, "web-1", cfg)
		frozen, held := fault.NewBarrier(), fault.NewBarrier()
		old.store.On("CompleteExchange", ignoringContext(frozen))
		fresh.wx.On("ExchangeCode", ignoringContext(held))
		req := exchange.Request{Code: mustCode(t, w, "zhangsan"), State: "s", BrowserID: "b", MayClaim: true}
		stale := async(old.gate, req)
		await(t, frozen.Arrived(), "the old process frozen before completing")
		taker := async(fresh.gate, req)
		await(t, held.Arrived(), "the new process's takeover at WeChat")
		frozen.Release()
		recv(t, stale)
		row, _ := w.db.ExchangeByCode(context.Background(), exchange.Hash(req.Code))
		if row.Status != models.StatusPending || row.Attempts != 2 {
			t.Fatalf("the stale owner overwrote the row: status %s attempts %d", row.Status, row.Attempts)
		}
		held.Release()
		recv(t, taker)
	})
}

// 19.5: leases are judged on the database's clock. An instance whose clock
// runs 16 s ahead does not take over a live owner's code.
func TestFastClockDoesNotTakeOver(t *testing.T) {
	w := newWorld(t)
	owner := w.faultyGate(t, "a", exchange.Config{})
	ahead := w.faultyGate(t, "b", exchange.Config{MaxWait: 300 * time.Millisecond,
		Now: func() time.Time { return time.Now().Add(16 * time.Second) }})
	atWeChat := fault.NewBarrier()
	owner.wx.On("ExchangeCode", atWeChat.Hook())
	req := exchange.Request{Code: mustCode(t, w, "zhangsan"), State: "s", BrowserID: "b", MayClaim: true}
	first := async(owner.gate, req)
	await(t, atWeChat.Arrived(), "the owner at WeChat")
	if o := recv(t, async(ahead.gate, req)); !errors.Is(o.err, exchange.ErrWaitTimeout) {
		t.Fatalf("fast-clock instance: %+v %v; want to wait (ErrWaitTimeout)", o.res, o.err)
	}
	if n := ahead.store.Calls("TakeOverExchange"); n != 0 {
		t.Fatalf("%d takeover attempts of a live owner", n)
	}
	atWeChat.Release()
	if o := recv(t, first); o.err != nil {
		t.Fatal(o.err)
	}
	if n := w.sim.ExchangeCount(req.Code); n != 1 {
		t.Fatalf("code exchanged %d times", n)
	}
}

// 19.5: the owner's failure write runs on what is left of the lease, not on
// a fresh timeout: no owner writes after its lease ends.
func TestOwnerNeverOutlivesItsLease(t *testing.T) {
	w := newWorld(t)
	g := w.faultyGate(t, "a", exchange.Config{Lease: 2 * time.Second, OwnerTimeout: 300 * time.Millisecond})
	g.wx.On("ExchangeCode", func(ctx context.Context, _ func(context.Context) error) error {
		<-ctx.Done() // WeChat never answers
		return &wechat.UnavailableError{Endpoint: "access_token", Timeout: true, Err: ctx.Err()}
	})
	var mu sync.Mutex
	var deadlines []time.Time
	g.store.On("FailExchange", func(ctx context.Context, call func(context.Context) error) error {
		d, ok := ctx.Deadline()
		if !ok {
			t.Error("FailExchange without a deadline")
		}
		mu.Lock()
		deadlines = append(deadlines, d)
		mu.Unlock()
		return call(ctx)
	})
	code := mustCode(t, w, "zhangsan")
	if _, err := g.gate.Exchange(context.Background(), exchange.Request{Code: code, State: "s", BrowserID: "b", MayClaim: true}); err == nil {
		t.Fatal("want a failure")
	}
	row, err := w.db.ExchangeByCode(context.Background(), exchange.Hash(code))
	if err != nil || len(deadlines) == 0 {
		t.Fatal(err, deadlines)
	}
	for _, d := range deadlines {
		if d.After(row.LeaseUntil) {
			t.Fatalf("failure write allowed until %v, after the lease ends at %v", d, row.LeaseUntil)
		}
	}
}

// 19.6 and the suspected deleted user: a duplicate on another instance
// answers with the user as the database has them now — disabled stays
// disabled, and a deleted user is never user 0.
func TestCrossInstanceDuplicateSeesTheUserAsTheyAre(t *testing.T) {
	w := newWorld(t)
	a, b := w.faultyGate(t, "a", exchange.Config{}), w.faultyGate(t, "b", exchange.Config{})
	first, err := a.gate.Exchange(context.Background(), exchange.Request{Code: mustCode(t, w, "zhangsan"), State: "s0", BrowserID: "b", MayClaim: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.db.Gorm.Exec("UPDATE users SET disabled = ? WHERE id = ?", true, first.UserID).Error; err != nil {
		t.Fatal(err)
	}
	req := exchange.Request{Code: mustCode(t, w, "zhangsan"), State: "s1", BrowserID: "b", MayClaim: true}
	if o, err := a.gate.Exchange(context.Background(), req); err != nil || !o.Disabled {
		t.Fatalf("owner: %+v %v; want disabled", o, err)
	}
	if o, err := b.gate.Exchange(context.Background(), req); err != nil || !o.Disabled || !o.Duplicate {
		t.Fatalf("duplicate on another instance: %+v %v; want disabled", o, err)
	}
	if err := w.db.Gorm.Exec("DELETE FROM users WHERE id = ?", first.UserID).Error; err != nil {
		t.Fatal(err)
	}
	o, err := b.gate.Exchange(context.Background(), req)
	var failed *exchange.Failed
	if o.UserID != 0 || !errors.As(err, &failed) || !failed.Restartable() {
		t.Fatalf("duplicate of a deleted user: %+v %v; want a restartable failure, never user 0", o, err)
	}
}

// The failed-row branch of a duplicate: a duplicate on another instance of
// a code WeChat rejected gets that failure, not a wait timeout.
func TestDuplicateOfAFailedExchangeGetsItsFailure(t *testing.T) {
	w := newWorld(t)
	a, b := w.faultyGate(t, "a", exchange.Config{}), w.faultyGate(t, "b", exchange.Config{MaxWait: time.Second})
	req := exchange.Request{Code: "MADEUPCODE0000000000000000000004", State: "s", BrowserID: "b", MayClaim: true}
	_, err := a.gate.Exchange(context.Background(), req)
	var owner, dup *exchange.Failed
	if !errors.As(err, &owner) || owner.Kind != models.KindRejected {
		t.Fatalf("owner: %v", err)
	}
	_, err = b.gate.Exchange(context.Background(), req)
	if !errors.As(err, &dup) || dup.Kind != owner.Kind || dup.ErrCode != owner.ErrCode {
		t.Fatalf("duplicate: %v; want the owner's failure %+v", err, owner)
	}
}

// The wait-timeout path, in-process and across instances, for the same
// code and for another code of the same state: always ErrWaitTimeout (the
// 503 busy page), never a bare context error (the 500 page).
func TestWaitsEndInWaitTimeout(t *testing.T) {
	w := newWorld(t)
	owner := w.faultyGate(t, "a", exchange.Config{})
	local := w.faultyGate(t, "a2", exchange.Config{MaxWait: 200 * time.Millisecond})
	atWeChat := fault.NewBarrier()
	owner.wx.On("ExchangeCode", atWeChat.Hook())
	code := mustCode(t, w, "zhangsan")
	first := async(owner.gate, exchange.Request{Code: code, State: "s", BrowserID: "b", MayClaim: true})
	await(t, atWeChat.Arrived(), "the owner at WeChat")
	cases := []struct {
		name string
		g    *exchange.Gate
		code string
	}{
		{"same code, same instance", owner.gate, code},
		{"other code, same instance", owner.gate, mustCode(t, w, "zhangsan")},
		{"same code, other instance", local.gate, code},
		{"other code, other instance", local.gate, mustCode(t, w, "zhangsan")},
	}
	for _, tc := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		_, err := tc.g.Exchange(ctx, exchange.Request{Code: tc.code, State: "s", BrowserID: "b", MayClaim: true})
		cancel()
		if !errors.Is(err, exchange.ErrWaitTimeout) {
			t.Errorf("%s: %v; want ErrWaitTimeout", tc.name, err)
		}
	}
	atWeChat.Release()
	recv(t, first)
}

// The same-instance browser check: while the victim's exchange is in
// flight, another browser presenting the code is refused at once.
func TestStolenCodeInFlightIsForeign(t *testing.T) {
	w := newWorld(t)
	g := w.faultyGate(t, "a", exchange.Config{})
	atWeChat := fault.NewBarrier()
	g.wx.On("ExchangeCode", atWeChat.Hook())
	code := mustCode(t, w, "zhangsan")
	victim := async(g.gate, exchange.Request{Code: code, State: "s", BrowserID: "victim", MayClaim: true})
	await(t, atWeChat.Arrived(), "the victim's exchange at WeChat")
	for _, may := range []bool{true, false} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := g.gate.Exchange(ctx, exchange.Request{Code: code, State: "s", BrowserID: "thief", MayClaim: may})
		cancel()
		if !errors.Is(err, exchange.ErrForeign) {
			t.Fatalf("MayClaim=%v: stolen code in flight: %v; want ErrForeign", may, err)
		}
	}
	atWeChat.Release()
	if o := recv(t, victim); o.err != nil {
		t.Fatal(o.err)
	}
}

// Suspected, confirmed: a claim that committed while the client saw an
// error used to leave an orphan pending row (its duplicate waited for the
// whole lease). The gate recognises its own claim and goes on.
func TestClaimCommittedDespiteAnErrorIsOwned(t *testing.T) {
	bothDialects(t, func(t *testing.T, w *world) {
		g := w.faultyGate(t, "a", exchange.Config{})
		g.store.On("ClaimExchange", fault.LoseAnswer(1))
		code := mustCode(t, w, "zhangsan")
		res, err := g.gate.Exchange(context.Background(), exchange.Request{Code: code, State: "s", BrowserID: "b", MayClaim: true})
		if err != nil || res.UserID == 0 {
			t.Fatalf("%+v %v; want logged in", res, err)
		}
		row, _ := w.db.ExchangeByCode(context.Background(), exchange.Hash(code))
		if row.Status != models.StatusDone || w.sim.ExchangeCount(code) != 1 {
			t.Fatalf("row %s, %d exchanges", row.Status, w.sim.ExchangeCount(code))
		}
	})
}

// Suspected, confirmed: a panic in the owner left its flight behind, and
// every later request for that code waited forever. Now they read the row
// and take over when the lease ends.
func TestOwnerPanicLeavesNoFlightBehind(t *testing.T) {
	w := newWorld(t)
	g := w.faultyGate(t, "a", exchange.Config{Lease: 300 * time.Millisecond, OwnerTimeout: 100 * time.Millisecond})
	// Only the first request's owner panics: armed is disarmed by the panic
	// itself and, whatever happened, before the second request.
	var armed atomic.Bool
	armed.Store(true)
	g.wx.On("ExchangeCode", func(ctx context.Context, call func(context.Context) error) error {
		if armed.CompareAndSwap(true, false) {
			panic("owner bug")
		}
		return call(ctx)
	})
	req := exchange.Request{Code: mustCode(t, w, "zhangsan"), State: "s", BrowserID: "b", MayClaim: true}
	var panicked any
	func() {
		defer func() { panicked = recover() }()
		_, _ = g.gate.Exchange(context.Background(), req)
	}()
	armed.Store(false)
	if panicked == nil {
		t.Fatal("the first request's owner did not reach WeChat (and so did not panic)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := g.gate.Exchange(ctx, req)
	if err != nil || res.UserID == 0 {
		t.Fatalf("after the owner's panic: %+v %v; want the takeover's login", res, err)
	}
}
