package wechat_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"wxlogin/wechat"
)

// hangUpServer is a WeChat stand-in on a raw listener. It reads each request
// whole and then either answers it (keeping the connection alive) or, when
// drop says so, closes the connection without a word: exactly the failure
// net/http answers by silently re-sending an idempotent request on a new
// connection. It remembers every code it was sent, and answers a code it
// has seen before with 40163, as WeChat does.
type hangUpServer struct {
	url string
	// drop reports whether to hang up on a request for path carrying code
	// after reading it; seen is how many times this path and code arrived
	// (1 the first time).
	drop func(path, code string, seen int) bool

	mu    sync.Mutex
	open  []net.Conn     // closed at cleanup, so no goroutine waits out keep-alive
	conns int            // connections accepted
	seen  map[string]int // path + " " + code → times received
	wire  []wireRequest
}

// wireRequest is what one request looked like on the wire.
type wireRequest struct {
	path       string
	headers    []string // canonical header names, sorted
	te         []string // Transfer-Encoding as parsed
	bodyBytes  int
	clHeader   bool // a Content-Length header was sent
	conn       int  // which connection (1-based)
	reqOnConn  int  // its position on that connection (1-based)
	codeParams string
}

func newHangUpServer(t *testing.T, drop func(path, code string, seen int) bool) *hangUpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &hangUpServer{url: "http://" + ln.Addr().String(), drop: drop, seen: map[string]int{}}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		s.mu.Lock()
		for _, c := range s.open {
			_ = c.Close()
		}
		s.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.open = append(s.open, conn)
			n := s.conns
			s.mu.Unlock()
			wg.Go(func() { s.serve(conn, n) })
		}
	})
	return s
}

func (s *hangUpServer) serve(conn net.Conn, connNo int) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	for i := 1; ; i++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return // EOF, or a malformed request (which the wire checks catch)
		}
		body, _ := io.ReadAll(req.Body)
		q := req.URL.Query()
		code := q.Get("code") + q.Get("js_code")
		w := wireRequest{path: req.URL.Path, te: req.TransferEncoding, bodyBytes: len(body),
			conn: connNo, reqOnConn: i, codeParams: code}
		for k := range req.Header {
			w.headers = append(w.headers, k)
		}
		slices.Sort(w.headers)
		_, w.clHeader = req.Header["Content-Length"]

		s.mu.Lock()
		key := req.URL.Path + " " + code
		s.seen[key]++
		seen := s.seen[key]
		s.wire = append(s.wire, w)
		s.mu.Unlock()

		if s.drop(req.URL.Path, code, seen) {
			return // WeChat read it (and used the code), the answer is lost
		}
		answer := `{"errcode":0,"errmsg":"ok"}`
		switch req.URL.Path {
		case "/sns/oauth2/access_token":
			answer = tokenJSON
		case "/sns/jscode2session":
			answer = `{"openid":"oOPENID","session_key":"SK"}`
		case "/sns/userinfo":
			answer = `{"openid":"oOPENID","nickname":"n"}`
		}
		if code != "" && seen > 1 {
			answer = `{"errcode":40163,"errmsg":"code been used"}`
		}
		_, err = io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+
			strconv.Itoa(len(answer))+"\r\n\r\n"+answer)
		if err != nil {
			return
		}
	}
}

func (s *hangUpServer) snapshot() (conns int, seen map[string]int, wire []wireRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns, maps.Clone(s.seen), slices.Clone(s.wire)
}

func hangUpClient(s *hangUpServer, observe func(string, int, time.Duration)) *wechat.Client {
	return wechat.New(wechat.Config{
		AppID: "wxapp", Secret: "s3cr3t-value", APIURL: s.url, Timeout: 5 * time.Second,
		UserInfoAttempts: 1, BreakerThreshold: -1, Observe: observe,
	})
}

// Issue 19, item 1: a code-carrying call that WeChat read on a kept-alive
// connection, and whose answer was lost when the connection died, is not
// re-sent by net/http: the code reaches WeChat exactly once and the caller
// learns "unavailable" (outcome unknown), never the 40163 of a replay. The
// call still uses the kept-alive connection, and on the wire it is a plain
// bodiless GET (no Content-Length, no Transfer-Encoding, no body bytes, the
// same header names as a replayable call, and the next request on the
// connection parses).
func TestCodeCallsAreNeverReplayed(t *testing.T) {
	tests := []struct {
		name, path string
		call       func(c *wechat.Client, code string) error
	}{
		{"ExchangeCode", "/sns/oauth2/access_token", func(c *wechat.Client, code string) error {
			_, err := c.ExchangeCode(context.Background(), code)
			return err
		}},
		{"JSCode2Session", "/sns/jscode2session", func(c *wechat.Client, code string) error {
			_, err := c.JSCode2Session(context.Background(), code)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newHangUpServer(t, func(path, code string, seen int) bool {
				return path == tt.path && code == "CODE-2" && seen == 1
			})
			c := hangUpClient(srv, nil)

			if err := c.CheckToken(context.Background(), "AT", "oOPENID"); err != nil {
				t.Fatal(err)
			}
			if err := tt.call(c, "CODE-1"); err != nil {
				t.Fatal(err)
			}
			err := tt.call(c, "CODE-2")

			if code, ok := wechat.ErrCode(err); ok {
				t.Fatalf("errcode %d (%v): the code was re-sent and WeChat refused the replay", code, err)
			}
			var ue *wechat.UnavailableError
			if !errors.As(err, &ue) || !wechat.IsTemporary(err) {
				t.Fatalf("error = %v, want an *UnavailableError", err)
			}
			conns, seen, wire := srv.snapshot()
			if n := seen[tt.path+" CODE-2"]; n != 1 {
				t.Fatalf("CODE-2 reached WeChat %d times, want exactly 1", n)
			}
			if conns != 1 {
				t.Fatalf("%d connections, want 1: every call on the one kept-alive connection", conns)
			}
			if len(wire) != 3 {
				t.Fatalf("%d requests on the wire, want 3: %+v", len(wire), wire)
			}
			ref := wire[0] // CheckToken: a replayable, bodiless GET
			for _, w := range wire[1:] {
				if w.conn != 1 || w.te != nil || w.clHeader || w.bodyBytes != 0 || !slices.Equal(w.headers, ref.headers) {
					t.Fatalf("code call on the wire = %+v, want a bodiless GET like %+v", w, ref)
				}
			}
		})
	}
}

// The calls that carry no single-use value stay replayable: when a kept-alive
// connection dies under them, net/http re-sends them on a new connection and
// the caller never sees the failure (one attempt as far as the client's own
// retry and Observe are concerned).
func TestReplayableCallsAreStillReplayed(t *testing.T) {
	srv := newHangUpServer(t, func(path, _ string, seen int) bool {
		return path == "/sns/userinfo" && seen == 1
	})
	var observed []int
	c := hangUpClient(srv, func(endpoint string, code int, _ time.Duration) {
		if endpoint == "userinfo" {
			observed = append(observed, code)
		}
	})
	if err := c.CheckToken(context.Background(), "AT", "oOPENID"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UserInfo(context.Background(), "AT", "oOPENID", "zh_CN"); err != nil {
		t.Fatalf("userinfo not replayed by net/http: %v", err)
	}
	conns, seen, _ := srv.snapshot()
	if seen["/sns/userinfo "] != 2 || conns != 2 || !slices.Equal(observed, []int{0}) {
		t.Fatalf("userinfo arrived %d times over %d connections, observed %v; want 2, 2, [0]",
			seen["/sns/userinfo "], conns, observed)
	}
}

// A code-carrying call's empty one-shot body costs no copy buffer. net/http
// copied it through the TCP connection's ReadFrom, whose generic path
// allocates 32 KiB per request: a third of every byte wxlogin allocated per
// login under load, before oneShotBody had a WriteTo. The server answers a
// fixed body, so what a call allocates is the client's and the server's
// per-request work: a few KiB.
func TestOneShotBodyAllocatesNothing(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"access_token":"AT","expires_in":7200,"refresh_token":"RT","openid":"oOPENID","scope":"snsapi_base"}`)
	}))
	t.Cleanup(srv.Close)
	c := wechat.New(wechat.Config{AppID: "wxapp", Secret: "s3cr3t-value", APIURL: srv.URL, OAuthURL: srv.URL,
		Timeout: 5 * time.Second, BreakerThreshold: -1})
	exchange := func() {
		if _, err := c.ExchangeCode(context.Background(), "CODE"); err != nil {
			t.Fatal(err)
		}
	}
	exchange() // the kept-alive connection and its buffers
	const calls = 200
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range calls {
		exchange()
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / calls; per > 28<<10 { // about 10 KiB, 19 KiB under the race detector; 42 KiB before
		t.Fatalf("a code exchange allocated %d bytes, want less than the 32 KiB copy buffer it used to cost", per)
	}
}
