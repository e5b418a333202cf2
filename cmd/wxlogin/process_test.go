package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"wxlogin/testdb"
	"wxlogin/wechatsim"
)

// These tests run the real binary as separate processes, because what they
// check — signals, a killed instance — only exists at that level.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wxlogin-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "wxlogin")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building wxlogin: %v", buildErr)
	}
	return binPath
}

const androidUA = "Mozilla/5.0 (Linux; Android 13; wv) AppleWebKit/537.36 Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560 WeChat/arm64"

type proc struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
	done chan error
}

// syncBuffer is the child's stdout/stderr. os/exec copies the pipe into it on
// its own goroutine while the test reads it, so every access takes the lock
// (a bare bytes.Buffer here is a data race under -race).
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startProc starts `wxlogin serve` and waits until /readyz answers 200.
func startProc(t *testing.T, sim *httptest.Server, s *wechatsim.Sim, dbURL, baseURL, name string, extra ...string) *proc {
	t.Helper()
	p := spawnProc(t, sim, s, dbURL, baseURL, name, extra...)
	p.waitReady(t, name)
	return p
}

// spawnProc starts `wxlogin serve` without waiting for it (several can then
// start at the same moment); waitReady waits.
func spawnProc(t *testing.T, sim *httptest.Server, s *wechatsim.Sim, dbURL, baseURL, name string, extra ...string) *proc {
	t.Helper()
	addr := freeAddr(t)
	if baseURL == "" {
		baseURL = "http://" + addr
	}
	cmd := exec.Command(binary(t), "serve")
	cmd.Env = append(os.Environ(),
		"LISTEN_ADDR="+addr, "BASE_URL="+baseURL, "DATABASE_URL="+dbURL,
		"WECHAT_APPID="+s.AppID(), "WECHAT_SECRET="+s.Secret(),
		"WECHAT_OAUTH_URL="+sim.URL, "WECHAT_API_URL="+sim.URL,
		"SESSION_KEYS=0101010101010101010101010101010101010101010101010101010101010101",
		"TOKEN_KEY=0202020202020202020202020202020202020202020202020202020202020202",
		"INSTANCE_ID="+name, "LOG_FORMAT=json")
	cmd.Env = append(cmd.Env, extra...)
	p := &proc{cmd: cmd, url: "http://" + addr, logs: &syncBuffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s logs:\n%s", name, p.logs.String())
		}
	})
	return p
}

// waitReady waits until the process's /readyz answers 200.
func (p *proc) waitReady(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(p.url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-p.done:
			t.Fatalf("%s exited before ready: %v\n%s", name, err, p.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready in 60s:\n%s", name, p.logs.String())
		}
	}
}

type phone struct{ c *http.Client }

func newPhone() *phone {
	jar, _ := cookiejar.New(nil)
	return &phone{c: &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (p *phone) get(ctx context.Context, u string, hdr ...string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", androidUA)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := p.c.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res, nil
}

// callbackURL taps the entry and authorizes headlessly at the simulator.
func (p *phone) callbackURL(t *testing.T, base string, hdr ...string) string {
	t.Helper()
	res, err := p.get(context.Background(), base+"/wechat/entry?next=/profile", hdr...)
	if err != nil || res.StatusCode != http.StatusFound {
		t.Fatalf("entry: %v %v", res, err)
	}
	auth := strings.TrimSuffix(res.Header.Get("Location"), "#wechat_redirect")
	res, err = p.get(context.Background(), auth, "X-Sim-User", "zhangsan")
	if err != nil || res.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %v %v", res, err)
	}
	return res.Header.Get("Location")
}

func newSim(t *testing.T) (*wechatsim.Sim, *httptest.Server) {
	s := wechatsim.New(wechatsim.Options{})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return s, srv
}

func codeIn(t *testing.T, cb string) string {
	u, err := url.Parse(cb)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("code")
}

func TestSIGTERMDuringSlowExchangeFinishesTheLogin(t *testing.T) {
	s, sim := newSim(t)
	p := startProc(t, sim, s, testdb.New(t), "", "a")
	ph := newPhone()
	cb := ph.callbackURL(t, p.url)
	s.SetLatency(1500 * time.Millisecond)
	type result struct {
		res *http.Response
		err error
	}
	got := make(chan result, 1)
	go func() {
		res, err := ph.get(context.Background(), cb)
		got <- result{res, err}
	}()
	// Signal once the exchange is in flight at the simulator.
	until(t, func() bool { return s.Stats().Exchanges > 0 })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil || r.res.StatusCode != http.StatusFound || r.res.Header.Get("Location") != "/profile" {
		t.Fatalf("in-flight login during shutdown: %v %v", r.res, r.err)
	}
	waitCleanStop(t, p)
}

func TestKilledOwnerIsTakenOverByAnotherInstance(t *testing.T) {
	s, sim := newSim(t)
	dbURL := testdb.New(t)
	// One origin for the phone; X-Instance picks the process behind it.
	var backends [2]*url.URL
	lb := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(r.Header.Get("X-Instance"))
		httputil.NewSingleHostReverseProxy(backends[i]).ServeHTTP(w, r)
	}))
	base := "http://" + lb.Listener.Addr().String()
	lb.Start()
	t.Cleanup(lb.Close)
	a := startProc(t, sim, s, dbURL, base, "a", "EXCHANGE_LEASE=2s")
	b := startProc(t, sim, s, dbURL, base, "b", "EXCHANGE_LEASE=2s")
	backends[0], _ = url.Parse(a.url)
	backends[1], _ = url.Parse(b.url)

	ph := newPhone()
	cb := ph.callbackURL(t, base, "X-Instance", "0")
	s.SetLatency(10 * time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _, _ = ph.get(ctx, cb, "X-Instance", "0") }()
	until(t, func() bool { return s.Stats().Exchanges > 0 })
	// Instance a dies mid-exchange, holding the claim.
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-a.done
	a.done <- nil
	cancel()
	s.SetLatency(0)
	// Android's duplicate reaches instance b: it waits out the lease, takes
	// over and logs the browser in.
	res, err := ph.get(context.Background(), cb, "X-Instance", "1")
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/profile" {
		t.Fatalf("duplicate on the surviving instance: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, err = ph.get(context.Background(), base+"/profile", "X-Instance", "1")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("profile: %v %v", res, err)
	}
	if !strings.Contains(b.logs.String(), "took over an exchange whose owner vanished") {
		t.Fatal("instance b did not log a takeover")
	}
}

// until polls a condition another process makes true, bounded at 30s; it
// observes progress, it does not wait a guessed time.
func until(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 30s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestHealthcheckCommand(t *testing.T) {
	s, sim := newSim(t)
	p := startProc(t, sim, s, testdb.New(t), "", "a")
	addr := strings.TrimPrefix(p.url, "http://")
	check := func(args ...string) (int, string) {
		cmd := exec.Command(binary(t), append([]string{"healthcheck"}, args...)...)
		cmd.Env = append(os.Environ(), "LISTEN_ADDR="+addr, "DATA_DIR="+t.TempDir())
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, string(out)
	}
	if code, out := check(); code != 0 || !strings.Contains(out, "/readyz 200") {
		t.Fatalf("healthcheck of a ready instance: exit %d, %q", code, out)
	}
	if code, out := check("--live"); code != 0 || !strings.Contains(out, "/healthz 200") {
		t.Fatalf("healthcheck --live: exit %d, %q", code, out)
	}
	_ = p.cmd.Process.Kill()
	<-p.done
	p.done <- nil
	if code, _ := check(); code != 1 {
		t.Fatalf("healthcheck of a stopped instance: exit %d, want 1", code)
	}
}

// waitCleanStop waits for a process sent SIGTERM to exit with status 0 and
// to have logged its clean stop.
func waitCleanStop(t *testing.T, p *proc) {
	t.Helper()
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v, want status 0", err)
		}
		p.done <- nil // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatal("did not exit within 30s of SIGTERM")
	}
	if !strings.Contains(p.logs.String(), "stopped cleanly") {
		t.Fatal("no clean-stop log line")
	}
}
