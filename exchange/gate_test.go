package exchange_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"wxlogin/exchange"
	"wxlogin/models"
	"wxlogin/testdb"
	"wxlogin/tokencrypt"
	"wxlogin/wechat"
	"wxlogin/wechatsim"
)

type world struct {
	db  *models.DB
	sim *wechatsim.Sim
	wx  *wechat.Client
}

func newWorld(t *testing.T) *world {
	t.Helper()
	sim := wechatsim.New(wechatsim.Options{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	wx := wechat.New(wechat.Config{AppID: sim.AppID(), Secret: sim.Secret(), OAuthURL: srv.URL, APIURL: srv.URL})
	return &world{db: testdb.Open(t), sim: sim, wx: wx}
}

func (w *world) gate(t *testing.T, instance string, lease time.Duration) *exchange.Gate {
	sealer, err := tokencrypt.New([][]byte{make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	return exchange.New(w.db, w.wx, sealer, exchange.Config{Instance: instance, Lease: lease, MaxWait: 10 * time.Second})
}

// raceGate releases n Exchange calls together.
func raceGate(n int, call func(i int) (exchange.Result, error)) ([]exchange.Result, []error) {
	res, errs := make([]exchange.Result, n), make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res[i], errs[i] = call(i)
		}()
	}
	close(start)
	wg.Wait()
	return res, errs
}

func TestManyRequestsTwoGatesOneExchange(t *testing.T) {
	w := newWorld(t)
	w.sim.SetLatency(10 * time.Millisecond)
	gates := []*exchange.Gate{w.gate(t, "a", 15*time.Second), w.gate(t, "b", 15*time.Second)}
	code, _ := w.sim.IssueCode("zhangsan", "snsapi_userinfo")
	req := exchange.Request{Code: code, State: "s1", BrowserID: "browser-1", Next: "/profile", Scope: "snsapi_userinfo", MayClaim: true}
	res, errs := raceGate(40, func(i int) (exchange.Result, error) { return gates[i%2].Exchange(context.Background(), req) })
	var owners int
	for i := range res {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if res[i].UserID == 0 || res[i].UserID != res[0].UserID {
			t.Fatalf("request %d: user %d, want %d", i, res[i].UserID, res[0].UserID)
		}
		if !res[i].Duplicate {
			owners++
		}
	}
	if owners != 1 || w.sim.ExchangeCount(code) != 1 {
		t.Fatalf("%d owners, %d exchanges; want 1 and 1", owners, w.sim.ExchangeCount(code))
	}
}

func TestAnotherBrowserIsForeign(t *testing.T) {
	w := newWorld(t)
	g := w.gate(t, "a", 15*time.Second)
	code, _ := w.sim.IssueCode("zhangsan", "snsapi_userinfo")
	if _, err := g.Exchange(context.Background(), exchange.Request{Code: code, State: "s", BrowserID: "victim", MayClaim: true, Next: "/profile"}); err != nil {
		t.Fatal(err)
	}
	for _, may := range []bool{true, false} {
		_, err := g.Exchange(context.Background(), exchange.Request{Code: code, State: "s", BrowserID: "attacker", MayClaim: may})
		if !errors.Is(err, exchange.ErrForeign) {
			t.Fatalf("MayClaim=%v: %v, want ErrForeign", may, err)
		}
	}
	if n := w.sim.ExchangeCount(code); n != 1 {
		t.Fatalf("%d exchanges", n)
	}
}

func TestJoinWithoutClaimNeedsAnExistingExchange(t *testing.T) {
	w := newWorld(t)
	g := w.gate(t, "a", 15*time.Second)
	code, _ := w.sim.IssueCode("zhangsan", "snsapi_userinfo")
	_, err := g.Exchange(context.Background(), exchange.Request{Code: code, State: "s", BrowserID: "b", MayClaim: false})
	if !errors.Is(err, exchange.ErrUnknown) || w.sim.ExchangeCount(code) != 0 {
		t.Fatalf("join of an unknown code: %v, %d exchanges", err, w.sim.ExchangeCount(code))
	}
}

// Two waiters find the same dead owner at once: exactly one takes over and
// calls WeChat; the other gets its result.
func TestConcurrentTakeoverHasOneWinner(t *testing.T) {
	w := newWorld(t)
	code, _ := w.sim.IssueCode("zhangsan", "snsapi_userinfo")
	past := time.Now().Add(-time.Minute).UTC()
	dead := &models.CodeExchange{
		CodeHash: exchange.Hash(code), StateHash: exchange.Hash("s"), BrowserHash: exchange.Hash("b"),
		NextPath: "/profile", Scope: "snsapi_userinfo", Status: models.StatusPending, Owner: "dead",
		LeaseUntil: past, Attempts: 1, CreatedAt: past, UpdatedAt: past,
	}
	if ok, _, err := w.db.ClaimExchange(context.Background(), dead, -time.Minute); !ok || err != nil {
		t.Fatalf("plant: %v %v", ok, err)
	}
	w.sim.SetLatency(20 * time.Millisecond)
	gates := []*exchange.Gate{w.gate(t, "a", 15*time.Second), w.gate(t, "b", 15*time.Second)}
	req := exchange.Request{Code: code, State: "s", BrowserID: "b", MayClaim: true}
	res, errs := raceGate(2, func(i int) (exchange.Result, error) { return gates[i].Exchange(context.Background(), req) })
	for i := range res {
		if errs[i] != nil || res[i].UserID == 0 {
			t.Fatalf("waiter %d: %+v %v", i, res[i], errs[i])
		}
	}
	row, err := w.db.ExchangeByCode(context.Background(), exchange.Hash(code))
	if err != nil || row.Takeovers != 1 || row.Status != models.StatusDone || w.sim.ExchangeCount(code) != 1 {
		t.Fatalf("row %+v (%v), %d exchanges; want one takeover, done, one exchange", row, err, w.sim.ExchangeCount(code))
	}
}

// Variant B with a dead owner of the first code: the second code's request
// retires the dead row and exchanges its own code.
func TestSecondCodeReplacesADeadFirstCode(t *testing.T) {
	w := newWorld(t)
	code1, _ := w.sim.IssueCode("zhangsan", "snsapi_userinfo")
	code2, _ := w.sim.IssueCode("zhangsan", "snsapi_userinfo")
	past := time.Now().Add(-time.Minute).UTC()
	dead := &models.CodeExchange{
		CodeHash: exchange.Hash(code1), StateHash: exchange.Hash("s"), BrowserHash: exchange.Hash("b"),
		NextPath: "/profile", Status: models.StatusPending, Owner: "dead", LeaseUntil: past, CreatedAt: past, UpdatedAt: past,
	}
	if ok, _, err := w.db.ClaimExchange(context.Background(), dead, -time.Minute); !ok || err != nil {
		t.Fatalf("plant: %v %v", ok, err)
	}
	res, err := w.gate(t, "a", 15*time.Second).Exchange(context.Background(),
		exchange.Request{Code: code2, State: "s", BrowserID: "b", MayClaim: true, Next: "/profile"})
	if err != nil || res.UserID == 0 {
		t.Fatalf("second code: %+v %v", res, err)
	}
	if w.sim.ExchangeCount(code1) != 0 || w.sim.ExchangeCount(code2) != 1 {
		t.Fatalf("exchanges: code1 %d code2 %d", w.sim.ExchangeCount(code1), w.sim.ExchangeCount(code2))
	}
	row, _ := w.db.ExchangeByCode(context.Background(), exchange.Hash(code1))
	if row.Status != models.StatusFailed || row.ErrorKind == nil || *row.ErrorKind != "abandoned" {
		t.Fatalf("dead row: %+v", row)
	}
}

// A waiter on another instance is woken by Postgres NOTIFY, not by its
// polls: with polling pushed out to an hour, it still gets the owner's
// result (a lost wake-up would end in ErrWaitTimeout instead).
func TestCrossInstanceWaiterIsWokenByNotify(t *testing.T) {
	w := newWorld(t)
	w.sim.SetLatency(100 * time.Millisecond)
	owner := w.gate(t, "a", 15*time.Second)
	sealer, _ := tokencrypt.New([][]byte{make([]byte, 32)})
	var waiter *exchange.Gate
	l := models.NewListener(w.db.URL, slog.New(slog.DiscardHandler), func(k string) { waiter.Wake(k) })
	l.ProbeWith(w.db.Notify) // live only once its own probe comes back
	waiter = exchange.New(w.db, w.wx, sealer, exchange.Config{
		Instance: "b", MaxWait: 10 * time.Second, PollMin: time.Hour, PollMax: time.Hour, HintsLive: l.Live,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go l.Run(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for !l.Live() {
		if time.Now().After(deadline) {
			t.Fatal("listener never connected")
		}
		time.Sleep(time.Millisecond)
	}
	code, _ := w.sim.IssueCode("zhangsan", "snsapi_userinfo")
	req := exchange.Request{Code: code, State: "s", BrowserID: "b", MayClaim: true, Next: "/profile"}
	got := make(chan error, 1)
	go func() {
		_, err := owner.Exchange(context.Background(), req)
		got <- err
	}()
	until := time.Now().Add(10 * time.Second)
	for w.sim.Stats().Exchanges == 0 { // the owner has claimed and is at WeChat
		if time.Now().After(until) {
			t.Fatal("owner never reached WeChat")
		}
		time.Sleep(time.Millisecond)
	}
	res, err := waiter.Exchange(context.Background(), req)
	if err != nil || res.UserID == 0 || !res.Duplicate {
		t.Fatalf("waiter: %+v %v; want the owner's user as a duplicate", res, err)
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
}
