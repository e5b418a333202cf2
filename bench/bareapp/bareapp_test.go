package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"wxlogin/testdb"
	"wxlogin/wechatsim"
)

const androidUA = "Mozilla/5.0 (Linux; Android 13; wv) AppleWebKit/537.36 Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560 WeChat/arm64"

// holdToken stops the first access_token call until released, and says when
// it got there: the owner has claimed the code and is at WeChat.
type holdToken struct {
	once     sync.Once
	entered  chan struct{}
	release  chan struct{}
	delegate http.RoundTripper
}

func (h *holdToken) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/sns/oauth2/access_token") {
		first := false
		h.once.Do(func() { first = true })
		if first {
			close(h.entered)
			<-h.release
		}
	}
	return h.delegate.RoundTrip(r)
}

type world struct {
	t    *testing.T
	sim  *wechatsim.Sim
	url  string
	hold *holdToken
}

func newWorld(t *testing.T) *world {
	hold := &holdToken{entered: make(chan struct{}), release: make(chan struct{}), delegate: http.DefaultTransport}
	w := startWorld(t, false, hold)
	w.hold = hold
	return w
}

// startWorld runs the yardstick (with or without issue 17's per-state
// bound) against a fresh simulator and database; tr carries its WeChat calls.
func startWorld(t *testing.T, bound bool, tr http.RoundTripper) *world {
	sim := wechatsim.New(wechatsim.Options{})
	simSrv := httptest.NewServer(sim.Handler())
	t.Cleanup(simSrv.Close)
	pool, err := pgxpool.New(t.Context(), testdb.NewEmpty(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	h, err := newServer(t.Context(), pool, config{BaseURL: base, AppID: sim.AppID(), Secret: sim.Secret(),
		OAuthURL: simSrv.URL, APIURL: simSrv.URL, Scope: "snsapi_userinfo", Transport: tr, StateBound: bound})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return &world{t: t, sim: sim, url: base}
}

type phone struct {
	t *testing.T
	c *http.Client
}

func newPhone(t *testing.T) *phone {
	jar, _ := cookiejar.New(nil)
	return &phone{t: t, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get sends a GET as this phone; extra headers go to the simulator.
func (p *phone) get(ctx context.Context, rawURL string, hdr map[string]string) (*http.Response, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("User-Agent", androidUA)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := p.c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, string(body), nil
}

func (p *phone) mustGet(rawURL string, hdr map[string]string) (*http.Response, string) {
	p.t.Helper()
	res, body, err := p.get(context.Background(), rawURL, hdr)
	if err != nil {
		p.t.Fatalf("GET: %v", err)
	}
	return res, body
}

// authorize runs the entry and the simulator's headless authorize as user,
// with Android's double callback (variant A: the same URL twice); it
// returns the callback URL.
func (w *world) authorize(p *phone, user string) string {
	w.t.Helper()
	res, _ := p.mustGet(w.url+"/wechat/entry?next=%2Fprofile", nil)
	if res.StatusCode != http.StatusFound {
		w.t.Fatalf("entry: %d", res.StatusCode)
	}
	auth := strings.TrimSuffix(res.Header.Get("Location"), "#wechat_redirect")
	res, body := p.mustGet(auth, map[string]string{"X-Sim-User": user, "X-Sim-Action": "allow", "X-Sim-Double": "A"})
	if res.StatusCode != http.StatusFound || res.Header.Get("X-Sim-Second-Location") != res.Header.Get("Location") {
		w.t.Fatalf("authorize: %d %s", res.StatusCode, body)
	}
	return res.Header.Get("Location")
}

// TestLoginWithAndroidDuplicate logs one person in the way Android WeChat
// does it: the first callback is aborted while its exchange is at WeChat,
// the second (same URL, same pre-login cookie) is answered from the claim
// row once the detached owner finishes; WeChat sees the code once.
func TestLoginWithAndroidDuplicate(t *testing.T) {
	w := newWorld(t)
	p := newPhone(t)
	cb := w.authorize(p, "zhangsan")

	firstCtx, abort := context.WithCancel(context.Background())
	firstDone := make(chan error, 1)
	go func() {
		_, _, err := p.get(firstCtx, cb, nil)
		firstDone <- err
	}()
	<-w.hold.entered // the first request owns the code and is at WeChat
	abort()
	if err := <-firstDone; err == nil {
		t.Fatal("the aborted first callback got an answer")
	}
	type answer struct {
		res *http.Response
		err error
	}
	dupDone := make(chan answer, 1)
	go func() {
		res, _, err := p.get(context.Background(), cb, nil)
		dupDone <- answer{res, err}
	}()
	close(w.hold.release)
	a := <-dupDone
	if a.err != nil {
		t.Fatalf("duplicate: %v", a.err)
	}
	if a.res.StatusCode != http.StatusFound || a.res.Header.Get("Location") != "/profile" {
		t.Fatalf("duplicate: %d %q, want 302 /profile", a.res.StatusCode, a.res.Header.Get("Location"))
	}
	code := mustQuery(t, cb).Get("code")
	if n := w.sim.ExchangeCount(code); n != 1 {
		t.Fatalf("code exchanged %d times, want 1", n)
	}
	res, body := p.mustGet(w.url+"/profile", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "张三") {
		t.Fatalf("profile: %d, body has no 张三", res.StatusCode)
	}
	// The back button: the same callback again is still answered from the row.
	if res, _ := p.mustGet(cb, nil); res.StatusCode != http.StatusFound || w.sim.ExchangeCount(code) != 1 {
		t.Fatalf("replay: %d, %d exchanges", res.StatusCode, w.sim.ExchangeCount(code))
	}
}

// TestCallbacksThatMustNotLogIn: a foreign browser with somebody's code, a
// wrong state, no cookie, oversized input: 400, no exchange, no login.
func TestCallbacksThatMustNotLogIn(t *testing.T) {
	w := newWorld(t)
	close(w.hold.release)
	owner := newPhone(t)
	cb := w.authorize(owner, "zhangsan")
	code := mustQuery(t, cb).Get("code")
	wrongState := mustQuery(t, cb)
	wrongState.Set("state", "not-the-state")
	foreign := newPhone(t)
	w.authorize(foreign, "emoji") // a session of its own, another state

	tests := []struct {
		name string
		p    *phone
		url  string
	}{
		{"foreign browser", foreign, cb},
		{"wrong state", owner, w.url + "/wechat/callback?" + wrongState.Encode()},
		{"no cookie", newPhone(t), cb},
		{"oversized code", owner, w.url + "/wechat/callback?state=x&code=" + strings.Repeat("a", 300)},
		{"no code", owner, w.url + "/wechat/callback?state=x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _ := tt.p.mustGet(tt.url, nil)
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", res.StatusCode)
			}
			if res, _ := tt.p.mustGet(w.url+"/profile", nil); res.StatusCode != http.StatusFound {
				t.Fatalf("profile: %d, want 302 to the entry (not logged in)", res.StatusCode)
			}
		})
	}
	if n := w.sim.ExchangeCount(code); n != 0 {
		t.Fatalf("code exchanged %d times, want 0", n)
	}
	// The code is still good for its own browser.
	if res, _ := owner.mustGet(cb, nil); res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/profile" {
		t.Fatalf("owner: %d", res.StatusCode)
	}
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}
