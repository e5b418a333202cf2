package e2e

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"wxlogin/app"
	"wxlogin/config"
	"wxlogin/reqid"
	"wxlogin/testdb"
	"wxlogin/wechat"
	"wxlogin/wechatsim"
)

var (
	testSessionKey = strings.Repeat("01", 32)
	testTokenKey   = strings.Repeat("02", 32)
)

// server is one wxlogin running in this process on a fresh Postgres
// database, as the browser sees it. It records every callback request and
// can hold or break the app's calls to WeChat.
type server struct {
	t         *testing.T
	URL       string
	App       *app.App
	Sim       *wechatsim.Sim
	Clock     *clock
	Logs      *syncBuffer
	callbacks *callbackLog
	wx        *wechatTransport
}

// mode is how the server meets WeChat.
type mode int

const (
	// simulator: WECHAT_APPID unset, the built-in simulator under /_sim
	// (what `make run` shows; same origin, so avatars satisfy the CSP).
	simulator mode = iota
	// production: WECHAT_APPID set, WeChat played by a simulator on its own
	// server, as wxlogin runs for real.
	production
)

func startServer(t *testing.T, m mode) *server {
	t.Helper()
	return startServerWith(t, m, nil)
}

// startServerWith is startServer with more environment variables.
func startServerWith(t *testing.T, m mode, extra map[string]string) *server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	s := &server{t: t, URL: base, Clock: &clock{}, Logs: &syncBuffer{}, callbacks: &callbackLog{},
		wx: &wechatTransport{}}
	log := slog.New(reqid.Handler{Handler: slog.NewTextHandler(s.Logs, &slog.HandlerOptions{Level: slog.LevelDebug})})
	vars := map[string]string{
		"DATABASE_URL": testdb.New(t), "BASE_URL": base, "DATA_DIR": t.TempDir(),
		"SIM_DOUBLE_CALLBACK": "off", "INSTANCE_ID": "e2e",
		// The login tests expect the profile on first login; the auto
		// flow has its own test (startServerWith).
		"WECHAT_SCOPE": "snsapi_userinfo",
	}
	if m == simulator {
		s.Sim = wechatsim.New(wechatsim.Options{Prefix: "/_sim", PublicURL: base + "/_sim",
			Logger: log.With("component", "wechatsim")})
	} else {
		s.Sim = wechatsim.New(wechatsim.Options{Logger: log.With("component", "wechatsim")})
		simSrv := httptest.NewServer(s.Sim.Handler())
		t.Cleanup(simSrv.Close)
		for k, v := range map[string]string{
			"WECHAT_APPID": s.Sim.AppID(), "WECHAT_SECRET": s.Sim.Secret(),
			"WECHAT_OAUTH_URL": simSrv.URL, "WECHAT_API_URL": simSrv.URL,
			"SESSION_KEYS": testSessionKey, "TOKEN_KEY": testTokenKey,
		} {
			vars[k] = v
		}
	}
	for k, v := range extra {
		vars[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{
		Logger: log, Sim: s.Sim, Now: s.Clock.Now,
		WeChat: func(c *wechat.Config) { c.HTTPClient = s.wx.client(c.HTTPClient) },
	})
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	s.App = a
	ctx, cancel := context.WithCancel(context.Background())
	a.Start(ctx)
	srv.Config.Handler = s.callbacks.wrap(a.Handler)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		cancel()
		_ = a.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", s.Logs.String())
		}
	})
	return s
}

// holdExchangeUntilClientGone makes the next code exchange wait until the
// browser has gone away from the next callback request: the first callback
// of Android's double callback is then still running when the browser
// aborts it, whatever the machine's speed. No timing decides the test.
func (s *server) holdExchangeUntilClientGone() {
	gone := make(chan struct{})
	s.callbacks.mu.Lock()
	s.callbacks.nextGone = gone
	s.callbacks.mu.Unlock()
	s.wx.mu.Lock()
	s.wx.hold = gone
	s.wx.mu.Unlock()
}

// clock is the app's clock: real time plus an offset tests can move.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// callbackLog records each /wechat/callback request: its code, the status
// it answered and whether its client had gone away by the time the app was
// done with it.
type callbackLog struct {
	mu       sync.Mutex
	reqs     []callbackReq
	nextGone chan struct{} // closed when the next callback's client goes away
}

type callbackReq struct {
	Code       string
	Status     int // 0: nothing written
	ClientGone bool
}

func (l *callbackLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/wechat/callback" {
			next.ServeHTTP(w, r)
			return
		}
		l.mu.Lock()
		i := len(l.reqs)
		l.reqs = append(l.reqs, callbackReq{Code: r.URL.Query().Get("code")})
		gone := l.nextGone
		l.nextGone = nil
		l.mu.Unlock()
		if gone != nil {
			// While the app holds this request (see wechatTransport), its
			// context ends only when the client goes away.
			go func() {
				<-r.Context().Done()
				close(gone)
			}()
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		l.mu.Lock()
		l.reqs[i].Status = sw.status
		l.reqs[i].ClientGone = r.Context().Err() != nil
		l.mu.Unlock()
	})
}

func (l *callbackLog) all() []callbackReq {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]callbackReq(nil), l.reqs...)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wechatTransport sits between the app's WeChat client and WeChat (the
// simulator). It can hold the next code exchange until a channel closes, or
// panic in it to reach the app's 500 page.
type wechatTransport struct {
	next http.RoundTripper

	mu         sync.Mutex
	hold       chan struct{}
	releasedBy string
	panicNext  bool
}

func (w *wechatTransport) client(c *http.Client) *http.Client {
	out := &http.Client{
		// WeChat's API never redirects; the app treats one as a failure.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	w.next = http.DefaultTransport
	if c != nil {
		if c.Transport != nil {
			w.next = c.Transport
		}
		out.CheckRedirect, out.Timeout, out.Jar = c.CheckRedirect, c.Timeout, c.Jar
	}
	out.Transport = w
	return out
}

func (w *wechatTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.HasSuffix(req.URL.Path, "/sns/oauth2/access_token") {
		w.mu.Lock()
		hold, boom := w.hold, w.panicNext
		w.hold, w.panicNext = nil, false
		w.mu.Unlock()
		if boom {
			panic("e2e: a bug injected into the WeChat client")
		}
		if hold != nil {
			select {
			case <-hold:
				w.release("client gone")
			case <-req.Context().Done():
				w.release("the exchange's own timeout")
				return nil, req.Context().Err()
			}
		}
	}
	return w.next.RoundTrip(req)
}

func (w *wechatTransport) release(by string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.releasedBy = by
}

func (w *wechatTransport) released() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.releasedBy
}

func (w *wechatTransport) breakNextExchange() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.panicNext = true
}

// syncBuffer collects the server's log lines from many goroutines.
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
