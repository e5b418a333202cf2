package wechat_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"wxlogin/wechat"
	"wxlogin/wechatsim"
)

// clock is a settable time source for the simulator, so tests can expire
// codes and tokens without sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is a simulator behind an httptest server and a client pointed at it.
type env struct {
	sim   *wechatsim.Sim
	srv   *httptest.Server
	c     *wechat.Client
	clock *clock
	cfg   wechat.Config
}

// newEnv starts a simulator and a client for it; cmod may adjust the
// client's config (it starts with the simulator's credentials, a 2s
// timeout and a 1ms backoff).
func newEnv(t *testing.T, cmod func(*wechat.Config)) *env {
	t.Helper()
	clk := newClock()
	sim := wechatsim.New(wechatsim.Options{Now: clk.Now})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	cfg := wechat.Config{
		AppID:    sim.AppID(),
		Secret:   sim.Secret(),
		OAuthURL: srv.URL,
		APIURL:   srv.URL,
		Timeout:  2 * time.Second,
		Backoff:  time.Millisecond,
	}
	if cmod != nil {
		cmod(&cfg)
	}
	return &env{sim: sim, srv: srv, c: wechat.New(cfg), clock: clk, cfg: cfg}
}

// code mints a code in the simulator as if userKey had authorized.
func (e *env) code(t *testing.T, userKey, scope string) string {
	t.Helper()
	code, err := e.sim.IssueCode(userKey, scope)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// user returns the simulator's test user by key.
func (e *env) user(t *testing.T, key string) wechatsim.User {
	t.Helper()
	for _, u := range e.sim.Users() {
		if u.Key == key {
			return u
		}
	}
	t.Fatalf("no test user %q", key)
	return wechatsim.User{}
}

// noRedirect is an HTTP client that reports redirects instead of following.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}

// wantCode asserts err carries a WeChat errcode.
func wantCode(t *testing.T, err error, code int) {
	t.Helper()
	got, ok := wechat.ErrCode(err)
	if !ok || got != code {
		t.Fatalf("error = %v, want errcode %d", err, code)
	}
}
