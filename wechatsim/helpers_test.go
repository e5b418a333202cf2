package wechatsim_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"wxlogin/wechatsim"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

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

// env is a simulator mounted under /_sim on an httptest server.
type env struct {
	sim   *wechatsim.Sim
	srv   *httptest.Server
	base  string // srv.URL + "/_sim"
	clock *clock
}

func newEnv(t *testing.T, mod func(*wechatsim.Options)) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	e := &env{clock: clk}
	var h http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	e.base = e.srv.URL + "/_sim"
	o := wechatsim.Options{Prefix: "/_sim", PublicURL: e.base, Now: clk.Now}
	if mod != nil {
		mod(&o)
	}
	e.sim = wechatsim.New(o)
	h = e.sim.Handler()
	return e
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}

// do sends a request without following redirects and returns the response
// with its body read.
func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func get(t *testing.T, rawURL string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

func post(t *testing.T, rawURL string, form url.Values) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, req)
}

const callback = "https://app.example/wechat/callback"

// authorizeURL builds an authorize link like wxlogin does.
func (e *env) authorizeURL(scope, state string) string {
	return e.base + "/connect/oauth2/authorize?appid=" + url.QueryEscape(e.sim.AppID()) +
		"&redirect_uri=" + url.QueryEscape(callback) + "&response_type=code&scope=" + scope +
		"&state=" + state + "#wechat_redirect"
}

// exchange calls /sns/oauth2/access_token and decodes the JSON.
func (e *env) exchange(t *testing.T, code string) map[string]any {
	t.Helper()
	q := url.Values{"appid": {e.sim.AppID()}, "secret": {e.sim.Secret()}, "code": {code}, "grant_type": {"authorization_code"}}
	return e.api(t, "/sns/oauth2/access_token?"+q.Encode())
}

// api GETs an /sns path and decodes the JSON answer.
func (e *env) api(t *testing.T, pathAndQuery string) map[string]any {
	t.Helper()
	resp, body := get(t, e.base+pathAndQuery)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: status %d", pathAndQuery, resp.StatusCode)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%s: %v in %q", pathAndQuery, err, body)
	}
	return m
}

func errcode(m map[string]any) int {
	f, _ := m["errcode"].(float64)
	return int(f)
}

func (e *env) user(t *testing.T, key string) wechatsim.User {
	t.Helper()
	for _, u := range e.sim.Users() {
		if u.Key == key {
			return u
		}
	}
	t.Fatalf("no user %q", key)
	return wechatsim.User{}
}

// callbackParams parses a callback URL and checks it goes to the app.
func callbackParams(t *testing.T, loc string) url.Values {
	t.Helper()
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme+"://"+u.Host+u.Path != callback {
		t.Fatalf("callback %q does not go to %s", loc, callback)
	}
	return u.Query()
}
