package app

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"wxlogin/exchange"
	"wxlogin/models"
	"wxlogin/wechatsim"
)

// race releases n requests together and collects their answers.
func race(t *testing.T, n int, do func(i int) (page, error)) []page {
	t.Helper()
	start := make(chan struct{})
	out := make([]page, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i], errs[i] = do(i)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	return out
}

func countWhere(t *testing.T, a *App, table, where string) int64 {
	t.Helper()
	var n int64
	if err := a.DB.Gorm.Raw("SELECT count(*) FROM " + table + " WHERE " + where).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func countRows(t *testing.T, a *App, table string) int64 {
	t.Helper()
	var n int64
	if err := a.DB.Gorm.Raw("SELECT count(*) FROM " + table).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFiftyIdenticalCallbacksOneExchange(t *testing.T) {
	e := newEnv(t)
	e.Sim.SetLatency(20 * time.Millisecond) // so the 50 really overlap the owner
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	cb := e.authorize(b.entry(in, "/profile"), "zhangsan", "allow")
	pages := race(t, 50, func(int) (page, error) { return b.tryGet(context.Background(), cb) })
	for i, p := range pages {
		if p.Status != http.StatusFound || p.Location != "/profile" {
			t.Errorf("response %d: %d %q, want 302 /profile", i, p.Status, p.Location)
		}
	}
	if n := e.Sim.ExchangeCount(codeOf(t, cb)); n != 1 {
		t.Fatalf("code exchanged %d times, want 1", n)
	}
	if n := countRows(t, in.App, "users"); n != 1 {
		t.Fatalf("%d user rows, want 1", n)
	}
	if p := b.get(in.URL + "/profile"); p.Status != http.StatusOK || !strings.Contains(p.Body, "张三") {
		t.Fatalf("profile after the storm: %d", p.Status)
	}
	row, err := in.App.DB.ExchangeByCode(t.Context(), exchange.Hash(codeOf(t, cb)))
	if err != nil || row.Status != models.StatusDone || row.Duplicates != 49 || row.Waits < 1 || row.Waits > 49 {
		t.Fatalf("row: %+v %v; want done with 49 duplicates, some of which waited", row, err)
	}
}

// abortFirst sends the first callback, aborts it once the exchange is under
// way at the simulator (as Android WeChat does), then sends the second.
func abortFirst(t *testing.T, e *env, b *browser, first, second string) page {
	t.Helper()
	before := e.Sim.Stats().Exchanges
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := b.tryGet(ctx, first)
		done <- err
	}()
	waitFor(t, func() bool { return e.Sim.Stats().Exchanges > before })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("first request was not aborted mid-exchange: %v", err)
	}
	return b.get(second)
}

// waitFor polls a condition that another goroutine makes true (bounded).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAbortedFirstRequestVariantA(t *testing.T) {
	e := newEnv(t)
	e.Sim.SetLatency(200 * time.Millisecond)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	cb := e.authorize(b.entry(in, "/profile"), "emoji", "allow")
	p := abortFirst(t, e, b, cb, cb)
	if p.Status != http.StatusFound || p.Location != "/profile" {
		t.Fatalf("duplicate: %d %q", p.Status, p.Location)
	}
	if n := e.Sim.ExchangeCount(codeOf(t, cb)); n != 1 {
		t.Fatalf("exchanged %d times", n)
	}
	if p := b.get(in.URL + "/profile"); !strings.Contains(p.Body, "小明🐱🌸✨") {
		t.Fatal("not logged in after the aborted first request")
	}
}

func TestAbortedFirstRequestVariantB(t *testing.T) {
	e := newEnv(t)
	e.Sim.SetLatency(200 * time.Millisecond)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	authURL := b.entry(in, "/profile")
	cb1 := e.authorize(authURL, "zhangsan", "allow")
	cb2 := e.authorize(authURL, "zhangsan", "allow") // a second code, same state
	if codeOf(t, cb1) == codeOf(t, cb2) {
		t.Fatal("variant B needs two codes")
	}
	p := abortFirst(t, e, b, cb1, cb2)
	if p.Status != http.StatusFound || p.Location != "/profile" {
		t.Fatalf("second callback: %d %q", p.Status, p.Location)
	}
	c1, c2 := e.Sim.ExchangeCount(codeOf(t, cb1)), e.Sim.ExchangeCount(codeOf(t, cb2))
	// Each code is exchanged at most once; the second code is verified by
	// WeChat on its own instead of inheriting the first code's login (a
	// made-up second code must never log anybody in: see
	// TestPlantedCookieWithMadeUpCodeLogsNobodyIn).
	if c1 > 1 || c2 > 1 || c2 != 1 {
		t.Fatalf("exchanges: code1 %d, code2 %d; want each at most once, the second one once", c1, c2)
	}
	if p := b.get(in.URL + "/profile"); p.Status != http.StatusOK {
		t.Fatalf("profile: %d", p.Status)
	}
}

func TestTwoInstancesOneExchange(t *testing.T) {
	for _, variant := range []string{"A", "B"} {
		t.Run(variant, func(t *testing.T) {
			e := newEnv(t)
			e.Sim.SetLatency(50 * time.Millisecond)
			cl := e.cluster(2, Options{})
			b := newBrowser(t)
			authURL := b.entry(cl.instance(), "/profile")
			cbs := []string{e.authorize(authURL, "zhangsan", "allow")}
			if variant == "A" {
				cbs = append(cbs, cbs[0])
			} else {
				cbs = append(cbs, e.authorize(authURL, "zhangsan", "allow"))
			}
			pages := race(t, 2, func(i int) (page, error) { return b.getOn(context.Background(), cbs[i], i) })
			for i, p := range pages {
				if p.Status != http.StatusFound || p.Location != "/profile" {
					t.Fatalf("instance %d: %d %q", i, p.Status, p.Location)
				}
			}
			want := 1 // variant A: one code, one exchange
			if variant == "B" {
				want = 2 // two codes, each exchanged once
			}
			if st := e.Sim.Stats(); st.Exchanges != want || st.CodesExchangedMoreThanOnce != 0 {
				t.Fatalf("exchanges %d (codes exchanged twice: %d); want %d", st.Exchanges, st.CodesExchangedMoreThanOnce, want)
			}
		})
	}
}

func TestForeignBrowserGetsNothing(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	victim, attacker := newBrowser(t), newBrowser(t)
	cb := e.authorize(victim.entry(in, "/profile"), "zhangsan", "allow")
	if p := victim.get(cb); p.Status != http.StatusFound {
		t.Fatalf("victim: %d", p.Status)
	}
	attacker.entry(in, "/profile") // the attacker has a session of its own
	if p := attacker.get(cb); p.Status != http.StatusBadRequest {
		t.Fatalf("attacker with a known code and state: %d, want 400", p.Status)
	}
	if p := attacker.get(in.URL + "/profile"); p.Status != http.StatusFound {
		t.Fatalf("attacker logged in: profile %d", p.Status)
	}
	if n := e.Sim.Stats().Exchanges; n != 1 {
		t.Fatalf("%d exchanges, want 1", n)
	}
}

func TestCookielessFetchDoesNotBurnTheCode(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	cb := e.authorize(b.entry(in, "/profile"), "zhangsan", "allow")
	if p := newBrowser(t).get(cb); p.Status != http.StatusBadRequest {
		t.Fatalf("cookieless fetch: %d, want 400", p.Status)
	}
	if n := e.Sim.Stats().Exchanges; n != 0 {
		t.Fatalf("the cookieless fetch reached WeChat (%d exchanges)", n)
	}
	if p := b.get(cb); p.Status != http.StatusFound || p.Location != "/profile" {
		t.Fatalf("real browser after the fetch: %d %q", p.Status, p.Location)
	}
}

// plantDeadOwner inserts the row a crashed instance leaves behind: claimed
// for this browser's code, pending, lease long expired.
func plantDeadOwner(t *testing.T, a *App, b *browser, base, cb string) {
	t.Helper()
	u := mustURL(t, cb)
	past := time.Now().Add(-time.Minute).UTC()
	row := &models.CodeExchange{
		CodeHash: exchange.Hash(u.Query().Get("code")), StateHash: exchange.Hash(u.Query().Get("state")),
		BrowserHash: b.browserHash(t, base), NextPath: "/profile", Scope: "snsapi_userinfo",
		Status: models.StatusPending, Owner: "dead-instance", LeaseUntil: past, Attempts: 1,
		CreatedAt: past, UpdatedAt: past,
	}
	if ok, _, err := a.DB.ClaimExchange(t.Context(), row, -time.Minute); err != nil || !ok {
		t.Fatalf("planting the dead owner's row: %v %v", ok, err)
	}
}

func TestTakeoverAfterDeadOwner(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	cb := e.authorize(b.entry(in, "/profile"), "zhangsan", "allow")
	plantDeadOwner(t, in.App, b, in.URL, cb)
	p := b.get(cb)
	if p.Status != http.StatusFound || p.Location != "/profile" {
		t.Fatalf("after takeover: %d %q", p.Status, p.Location)
	}
	if n := e.Sim.ExchangeCount(codeOf(t, cb)); n != 1 {
		t.Fatalf("exchanged %d times", n)
	}
	row, _ := in.App.DB.ExchangeByCode(t.Context(), exchange.Hash(codeOf(t, cb)))
	if row.Status != models.StatusDone || row.Takeovers != 1 || !strings.HasPrefix(row.Owner, "a/") {
		t.Fatalf("row after takeover: status %s takeovers %d owner %s", row.Status, row.Takeovers, row.Owner)
	}
}

func TestTakeoverRestartsWhenTheDeadOwnerHadExchanged(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	cb := e.authorize(b.entry(in, "/profile"), "zhangsan", "allow")
	plantDeadOwner(t, in.App, b, in.URL, cb)
	// The dead owner got as far as exchanging the code before it died.
	res, err := http.Get(e.SimSrv.URL + "/sns/oauth2/access_token?appid=" + e.Sim.AppID() + "&secret=" + e.Sim.Secret() +
		"&code=" + codeOf(t, cb) + "&grant_type=authorization_code")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	p := b.get(cb)
	if p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/wechat/entry?attempt=2") {
		t.Fatalf("takeover after a used code: %d %q; want a silent restart", p.Status, p.Location)
	}
	// The restart logs in with a fresh code.
	cb2 := e.authorize(b.get(in.URL+p.Location).Location, "zhangsan", "allow")
	if p := b.get(cb2); p.Status != http.StatusFound || p.Location != "/profile" {
		t.Fatalf("restarted login: %d %q", p.Status, p.Location)
	}
}

func TestRejectedCodeRestartsOnceThen502(t *testing.T) {
	for _, errcode := range []int{40029, 40163, 42003} {
		t.Run(fmtInt(errcode), func(t *testing.T) {
			e := newEnv(t)
			in := e.start("a", nil, Options{})
			b := newBrowser(t)
			e.Sim.SetFault("access_token", wechatsim.Fault{ErrCode: errcode, Count: 1})
			p := e.login(b, in, "zhangsan")
			if p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/wechat/entry?attempt=2") {
				t.Fatalf("first rejection: %d %q; want silent restart", p.Status, p.Location)
			}
			if n := countWhere(t, in.App, "code_exchanges", "restarted AND errcode = "+fmtInt(errcode)); n != 1 {
				t.Fatalf("%d rows marked restarted, want 1", n)
			}
			cb := e.authorize(b.get(in.URL+p.Location).Location, "zhangsan", "allow")
			if p := b.get(cb); p.Status != http.StatusFound || p.Location != "/profile" {
				t.Fatalf("after restart: %d %q", p.Status, p.Location)
			}
			// Rejected every time: one restart, then a clear 502 page, no loop.
			e.Sim.SetFault("access_token", wechatsim.Fault{ErrCode: errcode})
			b2 := newBrowser(t)
			p = e.login(b2, in, "zhangsan")
			cb = e.authorize(b2.get(in.URL+p.Location).Location, "zhangsan", "allow")
			p = b2.get(cb)
			if p.Status != http.StatusBadGateway || !strings.Contains(p.Body, "/wechat/entry") {
				t.Fatalf("second rejection: %d; want 502 with a retry link", p.Status)
			}
			if strings.Contains(p.Body, "rid:") || strings.Contains(p.Body, "invalid code") {
				t.Fatal("WeChat's errmsg reached the page")
			}
		})
	}
}
