package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"wxlogin/config"
	"wxlogin/exchange"
	"wxlogin/testdb"
	"wxlogin/wechatsim"
)

// androidUA is what Android WeChat's in-app browser sends.
const androidUA = "Mozilla/5.0 (Linux; Android 13; wv) AppleWebKit/537.36 Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560 WeChat/arm64"

const (
	testSessionKey = "0101010101010101010101010101010101010101010101010101010101010101"
	testTokenKey   = "0202020202020202020202020202020202020202020202020202020202020202"
)

// env is one test's world: a WeChat simulator on its own HTTP server, a
// fresh Postgres database, and any number of wxlogin instances sharing it.
type env struct {
	t      *testing.T
	Sim    *wechatsim.Sim
	SimSrv *httptest.Server
	DBURL  string
	Logs   *syncBuffer
	// Wrap, when set, wraps the handler of instances started afterwards
	// (the round-trip budget test tags each request's context).
	Wrap func(http.Handler) http.Handler
}

func newEnv(t *testing.T) *env {
	t.Helper()
	sim := wechatsim.New(wechatsim.Options{})
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, Sim: sim, SimSrv: srv, DBURL: testdb.New(t), Logs: &syncBuffer{}}
}

// instance is one running wxlogin.
type instance struct {
	App *App
	Srv *httptest.Server
	URL string
}

// start runs a wxlogin instance against the env's database and simulator.
func (e *env) start(name string, extra map[string]string, o Options) *instance {
	e.t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	vars := map[string]string{
		"DATABASE_URL": e.DBURL, "BASE_URL": base,
		"WECHAT_APPID": e.Sim.AppID(), "WECHAT_SECRET": e.Sim.Secret(),
		"WECHAT_OAUTH_URL": e.SimSrv.URL, "WECHAT_API_URL": e.SimSrv.URL,
		"SESSION_KEYS": testSessionKey, "TOKEN_KEY": testTokenKey, "INSTANCE_ID": name,
		"DATA_DIR": e.t.TempDir(),
		// The tests written before WECHAT_SCOPE=auto log in with the consent
		// page's profile; the auto flow's tests ask for auto.
		"WECHAT_SCOPE": "snsapi_userinfo",
	}
	for k, v := range extra {
		vars[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		e.t.Fatalf("config: %v", err)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(e.Logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("instance", name)
	}
	a, err := New(context.Background(), cfg, o)
	if err != nil {
		e.t.Fatalf("app.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a.Start(ctx)
	srv.Config.Handler = a.Handler
	if e.Wrap != nil {
		srv.Config.Handler = e.Wrap(a.Handler)
	}
	srv.Start()
	e.t.Cleanup(func() {
		srv.Close()
		cancel()
		_ = a.Close()
	})
	return &instance{App: a, Srv: srv, URL: base}
}

// fastGate shortens the lease so takeover tests run in milliseconds.
func fastGate(lease time.Duration) Options {
	return Options{Gate: func(c *exchange.Config) {
		c.Lease = lease
		c.OwnerTimeout = lease / 2
		c.MaxWait = 10 * time.Second
	}}
}

// browser is one phone: its own cookie jar, redirects off, Android WeChat UA.
type browser struct {
	t   *testing.T
	c   *http.Client
	jar *cookiejar.Jar
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, jar: jar, c: &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type page struct {
	Status   int
	Location string
	Body     string
	Header   http.Header
}

func (b *browser) get(rawURL string) page {
	b.t.Helper()
	return b.do(context.Background(), http.MethodGet, rawURL, nil)
}

func (b *browser) do(ctx context.Context, method, rawURL string, body io.Reader) page {
	b.t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("User-Agent", androidUA)
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, redact(rawURL), err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return page{Status: res.StatusCode, Location: res.Header.Get("Location"), Body: string(data), Header: res.Header}
}

// tryGet is get for goroutines: it reports instead of failing the test.
func (b *browser) tryGet(ctx context.Context, rawURL string) (page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return page{}, err
	}
	req.Header.Set("User-Agent", androidUA)
	res, err := b.c.Do(req)
	if err != nil {
		return page{}, err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return page{Status: res.StatusCode, Location: res.Header.Get("Location"), Body: string(data)}, nil
}

// entry taps the menu entry and returns the authorize URL WeChat would open.
func (b *browser) entry(in *instance, next string) string {
	b.t.Helper()
	p := b.get(in.URL + "/wechat/entry?next=" + url.QueryEscape(next))
	if p.Status != http.StatusFound || p.Location == "" {
		b.t.Fatalf("entry: status %d location %q", p.Status, p.Location)
	}
	return p.Location
}

// authorize plays WeChat's authorize hop headlessly: it returns the callback
// URL the browser would be sent to, as the chosen user allowing or denying.
func (e *env) authorize(authURL, user, action string) string {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(authURL, "#wechat_redirect"), nil)
	req.Header.Set("User-Agent", androidUA)
	req.Header.Set("X-Sim-User", user)
	if action != "" {
		req.Header.Set("X-Sim-Action", action)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("authorize: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize: status %d", res.StatusCode)
	}
	return res.Header.Get("Location")
}

// login runs a whole login and returns the callback's answer.
func (e *env) login(b *browser, in *instance, user string) page {
	e.t.Helper()
	return b.get(e.authorize(b.entry(in, "/profile"), user, "allow"))
}

// codeOf extracts the code of a callback URL.
func codeOf(t *testing.T, callback string) string {
	u, err := url.Parse(callback)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("code")
}

// withCode returns the callback URL with another code.
func withCode(callback, code string) string {
	u, _ := url.Parse(callback)
	q := u.Query()
	q.Set("code", code)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(s string) string {
	if i := strings.Index(s, "?"); i >= 0 {
		return s[:i] + "?…"
	}
	return s
}

// syncBuffer collects logs from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}
