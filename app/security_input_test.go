package app

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Hostile callback queries are answered with a 4xx page and never reach
// WeChat; the browser's genuine login still works afterwards (nothing in the
// junk burned its state).
func TestCallbackRejectsHostileParameters(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	cb := e.authorize(b.entry(in, "/profile"), "zhangsan", "allow")
	code, state := callbackParams(t, cb)
	e.Sim.Reset()
	q := url.QueryEscape
	tests := []struct {
		name, query string
		status      int
	}{
		{"no parameters", "", 400},
		{"code too long", "code=" + strings.Repeat("a", 129) + "&state=" + state, 400},
		{"code with markup", "code=" + q("<script>") + "&state=" + state, 400},
		{"code with space", "code=ab+cd&state=" + state, 400},
		{"code with NUL", "code=ab%00cd&state=" + state, 400},
		{"code with CRLF", "code=ab%0d%0acd&state=" + state, 400},
		{"code with non-ASCII", "code=" + q("代码") + "&state=" + state, 400},
		{"code with path characters", "code=" + q("../../x") + "&state=" + state, 400},
		{"code with SQL", "code=" + q("x' OR '1'='1") + "&state=" + state, 400},
		{"state too short", "code=" + code + "&state=" + state[:31], 400},
		{"state too long", "code=" + code + "&state=" + state + "0", 400},
		{"state uppercase", "code=" + code + "&state=" + strings.ToUpper(state), 400},
		{"state not hex", "code=" + code + "&state=" + strings.Repeat("g", 32), 400},
		{"state with template syntax", "code=" + code + "&state=" + q("{{.}}"), 400},
		{"state huge", "code=" + code + "&state=" + strings.Repeat("a", 3000), 400},
		{"code repeated", "code=" + code + "&code=" + code + "&state=" + state, 400},
		{"code repeated, second different", "code=" + code + "&code=other&state=" + state, 400},
		{"state repeated", "code=" + code + "&state=" + state + "&state=" + state, 400},
		{"bad percent-encoding in code", "code=%zz&state=" + state, 400},
		{"truncated percent-encoding", "code=" + code + "&state=" + state + "&x=%", 400},
		{"semicolon separator", "code=" + code + ";state=" + state, 400},
		{"encoded ampersand smuggling", "code=" + code + "%26state%3D" + state + "&state=" + state, 400},
		{"query too long", "code=" + code + "&state=" + state + "&pad=" + strings.Repeat("a", 5000), 414},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := b.get(in.URL + "/wechat/callback?" + tt.query)
			if p.Status != tt.status {
				t.Fatalf("status %d, want %d", p.Status, tt.status)
			}
			assert4xxPage(t, p)
			if n := e.Sim.Stats().Exchanges; n != 0 {
				t.Fatalf("hostile query reached WeChat (%d exchanges)", n)
			}
		})
	}
	if p := b.get(cb); p.Status != http.StatusFound || p.Location != "/profile" {
		t.Fatalf("genuine callback after the junk: %d %q", p.Status, p.Location)
	}
}

// The entry refuses ambiguous or undecodable queries, and ignores values it
// does not know (an unknown scope is not passed on to WeChat).
func TestEntryRejectsHostileParameters(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	tests := []struct {
		name, query string
		status      int
		wantScope   string
	}{
		{"next repeated", "next=/profile&next=//evil.example", 400, ""},
		{"scope repeated", "scope=snsapi_base&scope=snsapi_userinfo", 400, ""},
		{"bad percent-encoding", "next=%zz", 400, ""},
		{"semicolon", "next=/profile;scope=snsapi_base", 400, ""},
		{"query too long", "next=/" + strings.Repeat("a", 5000), 414, ""},
		{"unknown scope ignored", "scope=" + url.QueryEscape("snsapi_login&appid=x"), 302, "snsapi_userinfo"},
		{"attempt out of range ignored", "attempt=99", 302, "snsapi_userinfo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newBrowser(t).get(in.URL + "/wechat/entry?" + tt.query)
			if p.Status != tt.status {
				t.Fatalf("status %d, want %d", p.Status, tt.status)
			}
			if tt.status >= 400 {
				assert4xxPage(t, p)
				return
			}
			u, err := url.Parse(p.Location)
			if err != nil || u.Query().Get("scope") != tt.wantScope || len(u.Query()["appid"]) != 1 {
				t.Fatalf("authorize URL %s", p.Location)
			}
		})
	}
}

// Code and state are checked before any I/O: with the database gone, a
// malformed callback still gets its 400 (not a 503 from a session lookup).
func TestCallbackValidatesBeforeAnyIO(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	cb := e.authorize(b.entry(in, "/profile"), "zhangsan", "allow")
	code, state := callbackParams(t, cb)
	if err := in.App.DB.SQL.Close(); err != nil {
		t.Fatal(err)
	}
	e.Sim.Reset()
	for _, query := range []string{
		"code=" + url.QueryEscape("<bad>") + "&state=" + state,
		"code=" + strings.Repeat("a", 200) + "&state=" + state,
		"code=" + code + "&state=nothex",
		"code=" + code + "&code=" + code + "&state=" + state,
	} {
		p := b.get(in.URL + "/wechat/callback?" + query)
		if p.Status != http.StatusBadRequest {
			t.Fatalf("%.40s…: %d, want 400 before touching the database", query, p.Status)
		}
	}
	if n := e.Sim.Stats().Exchanges; n != 0 {
		t.Fatalf("%d WeChat exchanges", n)
	}
}

// Request size limits: bodies over 64 KiB get 413, and the production
// http.Server (App.Server) refuses oversized headers with 431.
func TestRequestSizeLimits(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	e.login(b, in, "zhangsan")

	t.Run("body with Content-Length over the limit", func(t *testing.T) {
		p := b.do(t.Context(), http.MethodPost, in.URL+"/logout", strings.NewReader(strings.Repeat("a=b&", 40<<10)))
		if p.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", p.Status)
		}
		assert4xxPage(t, p)
		if !loggedIn(t, in, b.jarCookie(in)) {
			t.Fatal("the oversized request was acted on")
		}
	})
	t.Run("chunked body over the limit", func(t *testing.T) {
		p := b.do(t.Context(), http.MethodPost, in.URL+"/admin/login",
			struct{ *strings.Reader }{strings.NewReader("username=a&password=" + strings.Repeat("a", 100<<10))})
		if p.Status < 400 || p.Status > 499 {
			t.Fatalf("status %d, want 4xx", p.Status)
		}
	})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := in.App.Server()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	base := "http://" + ln.Addr().String()
	if p := rawGet(t, base+"/healthz", ""); p.Status != http.StatusOK {
		t.Fatalf("production server: healthz %d", p.Status)
	}
	many := http.Header{}
	for i := range 400 {
		many.Set(fmt.Sprintf("X-Pad-%d", i), strings.Repeat("p", 100))
	}
	tests := []struct {
		name string
		hdr  http.Header
	}{
		{"many headers", many},
		{"one huge header", http.Header{"X-Big": {strings.Repeat("b", 32<<10)}}},
		{"huge cookie", http.Header{"Cookie": {cookieName + "=" + strings.Repeat("c", 32<<10)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := rawStatus(t, ln.Addr().String(), tt.hdr)
			if status != http.StatusRequestHeaderFieldsTooLarge {
				t.Fatalf("status %d, want 431", status)
			}
		})
	}
}

// rawStatus writes a GET / with the headers over a raw connection (a client
// library might refuse to send them) and returns the status code.
func rawStatus(t *testing.T, addr string, hdr http.Header) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "GET / HTTP/1.1\r\nHost: %s\r\n", addr)
	_ = hdr.Write(w)
	fmt.Fprint(w, "Connection: close\r\n\r\n")
	_ = w.Flush() // the server may answer and close before reading it all
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	res.Body.Close()
	return res.StatusCode
}

// NUL and invalid UTF-8 are refused on every route, in the query and in
// form bodies, before any handler (Postgres could not store them: they would
// become database errors, 5xx, wherever they reached a query).
func TestNULAndInvalidUTF8AreRefusedEverywhere(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	e.login(b, in, "zhangsan")
	for _, path := range []string{"/", "/profile", "/wechat/entry", "/wechat/callback", "/admin/login", "/admin/users", "/healthz", "/nope"} {
		for _, q := range []string{"x=a%00b", "x=%FF%FE", "a%00=1", "x=%C0%AF"} {
			p := b.get(in.URL + path + "?" + q)
			if p.Status != http.StatusBadRequest {
				t.Errorf("GET %s?%s: %d, want 400", path, q, p.Status)
			}
		}
	}
	for _, body := range []string{"x=a%00b", "x=%FF", "x=%zz"} {
		p := b.do(t.Context(), http.MethodPost, in.URL+"/logout", strings.NewReader(body))
		if p.Status != http.StatusBadRequest {
			t.Errorf("POST /logout %q: %d, want 400", body, p.Status)
		}
	}
	if !loggedIn(t, in, b.jarCookie(in)) {
		t.Fatal("a refused request logged the browser out")
	}
}
