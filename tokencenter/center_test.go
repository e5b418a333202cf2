package tokencenter_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wxlogin/models"
	"wxlogin/testdb"
	"wxlogin/tokencenter"
	"wxlogin/tokencrypt"
	"wxlogin/wechat"
	"wxlogin/wechatsim"
)

// simWeChat is one simulated WeChat that several deployments talk to.
type simWeChat struct {
	sim *wechatsim.Sim
	srv *httptest.Server
}

func newSim(t testing.TB) *simWeChat {
	t.Helper()
	sim := wechatsim.New(wechatsim.Options{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &simWeChat{sim: sim, srv: srv}
}

// instance is one wxlogin instance's token center and WeChat client.
type instance struct {
	name   string
	center *tokencenter.Center
	wx     *wechat.Client
	// refused counts the calls WeChat refused for the token.
	refused atomic.Int64
}

func openDB(t testing.TB, url string) *models.DB {
	t.Helper()
	db, err := models.Open(context.Background(), url, t.TempDir(), models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func sealer(t testing.TB) *tokencrypt.Sealer {
	t.Helper()
	s, err := tokencrypt.New([][]byte{[]byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// deployment builds n instances on one database (its own pool each, as
// separate processes would have) against sw.
func deployment(t testing.TB, sw *simWeChat, name string, n int, cfg tokencenter.Config) []*instance {
	t.Helper()
	url := testdb.New(t)
	var out []*instance
	for i := range n {
		db := openDB(t, url)
		wx := wechat.New(wechat.Config{AppID: sw.sim.AppID(), Secret: sw.sim.Secret(), APIURL: sw.srv.URL, BreakerThreshold: -1})
		c := cfg
		c.Instance = fmt.Sprintf("%s-%d", name, i+1)
		out = append(out, &instance{name: c.Instance, wx: wx, center: tokencenter.New(db, wx, sealer(t), c)})
	}
	return out
}

// readMenu is a cgi-bin call through the center, counting token refusals.
func (in *instance) readMenu(ctx context.Context) error {
	return in.center.Do(ctx, func(ctx context.Context, token string) error {
		_, err := in.wx.CurrentMenu(ctx, token)
		if wechat.IsTokenInvalid(err) {
			in.refused.Add(1)
		}
		return err
	})
}

// storm releases calls calls spread over the instances at once and returns
// their errors.
func storm(t *testing.T, insts []*instance, calls int, perCallRefusals *atomic.Int64) []error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := make(chan struct{})
	errs := make([]error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		in := insts[i%len(insts)]
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			n := 0
			errs[i] = in.center.Do(ctx, func(ctx context.Context, token string) error {
				_, err := in.wx.CurrentMenu(ctx, token)
				if wechat.IsTokenInvalid(err) {
					in.refused.Add(1)
					n++
				}
				return err
			})
			if n > 1 && perCallRefusals != nil {
				perCallRefusals.Add(1)
			}
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

func noErrors(t *testing.T, errs []error) {
	t.Helper()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

// Two instances on one Postgres, 100 concurrent calls at a cold start:
// exactly one stable_token call.
func TestColdStartFetchesOnce(t *testing.T) {
	sw := newSim(t)
	insts := deployment(t, sw, "prod", 2, tokencenter.Config{})
	noErrors(t, storm(t, insts, 100, nil))
	st := sw.sim.TokenStats()
	if st.StableNormal != 1 || st.StableForced != 0 || st.Token != 0 {
		t.Fatalf("stable_token calls: %+v, want exactly one normal-mode call", st)
	}
}

// The simulator kills the token (stable_token keeps handing it back): each
// call fails at most once with 40001, exactly one forced refresh happens
// across both instances, every call then succeeds. A second kill inside
// 30 s forces nothing more: calls fail clearly with ErrForceTooSoon, and
// WeChat is asked at most once more.
func TestKilledTokenForcesOnceAcrossInstances(t *testing.T) {
	sw := newSim(t)
	insts := deployment(t, sw, "prod", 2, tokencenter.Config{})
	noErrors(t, storm(t, insts, 10, nil))

	if !sw.sim.KillToken(wechatsim.KillStale) {
		t.Fatal("no token to kill")
	}
	var twice atomic.Int64
	noErrors(t, storm(t, insts, 100, &twice))
	st := sw.sim.TokenStats()
	if st.StableForced != 1 || st.ForceRefused != 0 {
		t.Fatalf("after a kill: %+v, want exactly one forced refresh", st)
	}
	if twice.Load() != 0 {
		t.Fatalf("%d calls were refused twice", twice.Load())
	}
	// Sequentially, one call per instance after the next kill would see one
	// 40001 each; here, a second kill inside 30 s.
	normalBefore := st.StableNormal
	for _, in := range insts {
		in.refused.Store(0)
	}
	sw.sim.KillToken(wechatsim.KillStale)
	errs := storm(t, insts, 100, &twice)
	for i, err := range errs {
		if !errors.Is(err, tokencenter.ErrForceTooSoon) {
			t.Fatalf("call %d after a second kill inside 30 s: %v, want ErrForceTooSoon", i, err)
		}
	}
	st = sw.sim.TokenStats()
	if st.StableForced != 1 || st.ForceRefused != 0 {
		t.Fatalf("second kill: %+v, want no second forced refresh and none refused", st)
	}
	if d := st.StableNormal - normalBefore; d > 1 {
		t.Fatalf("second kill: %d normal-mode calls, want at most 1", d)
	}
	// And it stays quiet: more calls fail at once without asking WeChat.
	before := sw.sim.Stats().ByEndpoint["stable_token"]
	errs = storm(t, insts, 20, nil)
	for _, err := range errs {
		if !errors.Is(err, tokencenter.ErrForceTooSoon) {
			t.Fatalf("later call: %v", err)
		}
	}
	if after := sw.sim.Stats().ByEndpoint["stable_token"]; after != before {
		t.Fatalf("stable_token asked %d more times while the force is blocked", after-before)
	}
	for _, in := range insts {
		if n := in.refused.Load(); n > 50 {
			t.Fatalf("%s: %d refusals for 50 calls", in.name, n)
		}
	}
}

// A test environment and production share an appid: two databases on one
// simulator. When production forces a refresh, each test instance sees at
// most one 40001, recovers through normal mode, and forces nothing itself.
func TestTwoDeploymentsDoNotPingPong(t *testing.T) {
	sw := newSim(t)
	prod := deployment(t, sw, "prod", 2, tokencenter.Config{})
	test := deployment(t, sw, "test", 2, tokencenter.Config{})
	for _, in := range append(append([]*instance{}, prod...), test...) {
		if err := in.readMenu(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	sw.sim.KillToken(wechatsim.KillStale)
	// Production meets the dead token first and forces.
	if err := prod[0].readMenu(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := sw.sim.TokenStats(); st.StableForced != 1 {
		t.Fatalf("production: %+v, want one forced refresh", st)
	}
	for _, in := range test {
		in.refused.Store(0)
	}
	noErrors(t, storm(t, append(append([]*instance{}, test...), prod[1]), 60, nil))
	st := sw.sim.TokenStats()
	if st.StableForced != 1 || st.ForceRefused != 0 {
		t.Fatalf("after the test environment caught up: %+v, want still one forced refresh", st)
	}
	for _, in := range test {
		// Concurrent calls of one instance hold the same dead token, so each
		// may be refused once; the instance renews through normal mode once.
		if n := in.refused.Load(); n > 20 {
			t.Fatalf("%s: %d refusals", in.name, n)
		}
	}
	// Sequential calls: one 40001 per instance at most.
	sw.sim.KillToken(wechatsim.KillForce) // another server forces
	for _, in := range append(append([]*instance{}, prod...), test...) {
		in.refused.Store(0)
		for range 3 {
			if err := in.readMenu(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if n := in.refused.Load(); n > 1 {
			t.Fatalf("%s: %d refusals after another server forced, want at most 1", in.name, n)
		}
	}
	if st := sw.sim.TokenStats(); st.StableForced != 1 {
		t.Fatalf("after another server forced: %+v, want no forced refresh of ours", st)
	}
}

// WeChat down: a few attempts with backoff, a clear error, and a hold-off
// that keeps every instance from asking again at once.
func TestWeChatDownHoldsOff(t *testing.T) {
	sw := newSim(t)
	insts := deployment(t, sw, "prod", 2, tokencenter.Config{Attempts: 3, Backoff: time.Millisecond})
	sw.sim.SetFault("stable_token", wechatsim.Fault{HTTPStatus: 502})
	errs := storm(t, insts, 40, nil)
	var fe *tokencenter.FetchError
	for i, err := range errs {
		if !errors.As(err, &fe) {
			t.Fatalf("call %d: %v, want a FetchError", i, err)
		}
	}
	if n := sw.sim.Stats().ByEndpoint["stable_token"]; n != 3 {
		t.Fatalf("stable_token asked %d times during the outage, want 3 (one fetch's attempts)", n)
	}
}

// 40164 names the IP to whitelist, in the error and on the row.
func TestIPNotWhitelistedNamesTheIP(t *testing.T) {
	sw := newSim(t)
	insts := deployment(t, sw, "prod", 1, tokencenter.Config{})
	sw.sim.SetFault("stable_token", wechatsim.Fault{ErrCode: 40164})
	_, err := insts[0].center.Token(context.Background())
	var fe *tokencenter.FetchError
	if !errors.As(err, &fe) || fe.Code != 40164 || fe.IP != "203.0.113.7" || !strings.Contains(err.Error(), "203.0.113.7") {
		t.Fatalf("err = %v, want 40164 naming 203.0.113.7", err)
	}
	st, err := insts[0].center.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.LastErrorCode != 40164 || !strings.Contains(st.LastError, "203.0.113.7") || !strings.Contains(st.LastError, "白名单") {
		t.Fatalf("state = %+v", st)
	}
}

// shortLived is a WeChat whose tokens live less than Ahead, so each Token
// call past MinRefetch renews ahead of expiry.
type shortLived struct{ calls atomic.Int64 }

func (s *shortLived) AppID() string { return "wxshortlived" }
func (s *shortLived) StableToken(context.Context, bool) (*wechat.AccessToken, error) {
	n := s.calls.Add(1)
	return &wechat.AccessToken{AccessToken: fmt.Sprintf("short-%d", n), ExpiresIn: 200}, nil
}

func TestRenewsAheadOfExpiry(t *testing.T) {
	db := openDB(t, testdb.New(t))
	wx := &shortLived{}
	var clock atomic.Int64 // local seconds past now; the in-process copy's clock
	now := func() time.Time { return time.Now().Add(time.Duration(clock.Load()) * time.Second) }
	c := tokencenter.New(db, wx, sealer(t), tokencenter.Config{MinRefetch: time.Nanosecond, Now: now})
	t1, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(2) // past the one second a short-lived token is kept in process
	t2, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if wx.calls.Load() != 2 || t1.Value == t2.Value {
		t.Fatalf("a token inside the renewal window was not renewed: %d fetches", wx.calls.Load())
	}
	// With the default MinRefetch, a fresh fetch is not repeated at once.
	c2 := tokencenter.New(db, wx, sealer(t), tokencenter.Config{})
	if _, err := c2.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if wx.calls.Load() != 2 {
		t.Fatalf("renewed again within MinRefetch: %d fetches", wx.calls.Load())
	}
}

// The token is sealed in the row, and SQLite works too.
func TestSealedAtRestSQLite(t *testing.T) {
	db := openDB(t, "sqlite:"+t.TempDir()+"/t.db")
	sw := newSim(t)
	wx := wechat.New(wechat.Config{AppID: sw.sim.AppID(), Secret: sw.sim.Secret(), APIURL: sw.srv.URL})
	c := tokencenter.New(db, wx, sealer(t), tokencenter.Config{})
	tok, err := c.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	row, err := db.AccountToken(context.Background(), sw.sim.AppID())
	if err != nil {
		t.Fatal(err)
	}
	if len(row.TokenEnc) == 0 || strings.Contains(string(row.TokenEnc), tok.Value) || row.FetchedBy != "instance" {
		t.Fatalf("row: %d sealed bytes, fetched by %q", len(row.TokenEnc), row.FetchedBy)
	}
	if fmt.Sprint(tok) == tok.Value || strings.Contains(fmt.Sprintf("%+v", tok), tok.Value) {
		t.Fatal("Token prints its value")
	}
	sw.sim.KillToken(wechatsim.KillStale)
	in := &instance{center: c, wx: wx}
	if err := in.readMenu(context.Background()); err != nil {
		t.Fatal(err)
	}
	if st := sw.sim.TokenStats(); st.StableForced != 1 {
		t.Fatalf("%+v", st)
	}
}

// A token known dead while no force is allowed is re-checked in normal mode
// once per DeadRecheck: when another server forced meanwhile, the instances
// recover with its token and force nothing themselves.
func TestDeadTokenRecheckFindsAnotherServersForce(t *testing.T) {
	sw := newSim(t)
	insts := deployment(t, sw, "prod", 2, tokencenter.Config{DeadRecheck: time.Nanosecond})
	noErrors(t, storm(t, insts, 4, nil))
	sw.sim.KillToken(wechatsim.KillStale)
	noErrors(t, storm(t, insts, 4, nil)) // one forced refresh
	sw.sim.KillToken(wechatsim.KillStale)
	for _, err := range storm(t, insts, 4, nil) {
		if !errors.Is(err, tokencenter.ErrForceTooSoon) {
			t.Fatalf("inside 30 s: %v", err)
		}
	}
	sw.sim.KillToken(wechatsim.KillForce) // another server forces a new token
	noErrors(t, storm(t, insts, 20, nil))
	if st := sw.sim.TokenStats(); st.StableForced != 1 || st.ForceRefused != 0 {
		t.Fatalf("%+v, want our one forced refresh only", st)
	}
}

// An instance that decided to fetch on a row it read cannot claim the fetch
// once another instance has stored a token since (it would fetch again):
// the claim names the version it read. This is the race a cold start under
// load hit (two stable_token calls for 100 concurrent calls).
func TestClaimNeedsTheVersionRead(t *testing.T) {
	for _, url := range []string{testdb.New(t), "sqlite:" + t.TempDir() + "/t.db"} {
		db := openDB(t, url)
		ctx := context.Background()
		seen, err := db.AccountToken(ctx, "wxrace")
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := db.ClaimAccountTokenLease(ctx, "wxrace", "a", seen.Version, time.Minute); !ok || err != nil {
			t.Fatalf("first claim: %v %v", ok, err)
		}
		if ok, err := db.StoreAccountToken(ctx, "wxrace", "a", "a", "normal", []byte("sealed"), time.Hour); !ok || err != nil {
			t.Fatalf("store: %v %v", ok, err)
		}
		if ok, err := db.ClaimAccountTokenLease(ctx, "wxrace", "b", seen.Version, time.Minute); ok || err != nil {
			t.Fatalf("%s: a claim on the version read before the store succeeded (%v)", db.Dialect, err)
		}
		now, err := db.AccountToken(ctx, "wxrace")
		if err != nil || now.Version != seen.Version+1 {
			t.Fatalf("version %d after a store, want %d (%v)", now.Version, seen.Version+1, err)
		}
		if ok, err := db.ClaimAccountTokenLease(ctx, "wxrace", "b", now.Version, time.Minute); !ok || err != nil {
			t.Fatalf("%s: claim on the current version: %v %v", db.Dialect, ok, err)
		}
	}
}
