package app

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Issue 17, finding 2: made-up HTTP methods and paths must cost a constant
// number of metric series and a bounded log line each. Before the fix every
// distinct method became a new label value of wxlogin_http_requests_total and
// went into the log line as sent, so 50,000 requests with 8,000-byte methods
// grew the process by 900 MB, /metrics to 404 MB and the log by 456 MB.

const (
	// boundsWarmup rounds create every series the attack can touch, so that
	// only growth from then on counts; boundsRounds is the attack itself.
	boundsWarmup = 5
	boundsRounds = 1000
	// maxLogLine bounds one log line of a hostile request: the request line
	// of wxlogin is ~250 bytes with nothing client-controlled but the
	// (parsed) address.
	maxLogLine = 512
)

// hostileRequest is one request of the attack.
type hostileRequest struct {
	method, path string
	unknown      bool // the method is not a standard one
}

// hostileRound is round i of the attack: two made-up 1,000-byte methods (on
// a routed and an unmatched path) and known methods on distinct paths of
// every kind of route: unmatched, wildcard, parameter, wrong method.
func hostileRound(i int, simulator bool) []hostileRequest {
	tok := fmt.Sprintf("X%06d", i)
	method := tok + strings.Repeat("Q", 1000)
	reqs := []hostileRequest{
		{method, "/", true},
		{method, "/no/such/" + tok, true},
		{strings.ToLower(tok), "/profile", true},
		{http.MethodGet, "/no/such/" + tok + "/" + strings.Repeat("p", 1000), false},
		{http.MethodGet, "/static/" + tok + ".css", false},
		{http.MethodGet, "/admin/users/" + tok, false},
		{http.MethodPut, "/wechat/entry?x=" + tok, false},
		{http.MethodDelete, "/no/such/" + tok, false},
	}
	if simulator {
		reqs = append(reqs,
			hostileRequest{http.MethodGet, "/_sim/" + tok, false},
			hostileRequest{method, "/_sim/" + tok, true})
	}
	return reqs
}

func TestHostileMethodsAndPathsAreBounded(t *testing.T) {
	modes := []struct {
		name  string
		extra map[string]string
	}{
		{"production", nil},
		{"simulator", map[string]string{
			"WECHAT_APPID": "", "WECHAT_SECRET": "", "WECHAT_OAUTH_URL": "", "WECHAT_API_URL": "", "SIMULATOR": "1",
		}},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			e := newEnv(t)
			in := e.start("a", mode.extra, Options{})
			sim := in.App.Config.Simulator
			if sim != (mode.extra != nil) {
				t.Fatalf("simulator mode %v, want %v", sim, mode.extra != nil)
			}
			c := &http.Client{
				Timeout:       10 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			}
			var answers []string // wrong answers, reported after the bounds
			attack := func(from, to int) int {
				n := 0
				for i := from; i < to; i++ {
					for _, r := range hostileRound(i, sim) {
						if err := sendHostile(t, c, in.URL, r); err != nil && len(answers) < 5 {
							answers = append(answers, err.Error())
						}
						n++
					}
				}
				return n
			}

			attack(0, boundsWarmup)
			scrapeLines(t, c, in.URL) // the first scrape creates the /metrics series
			before := scrapeLines(t, c, in.URL)
			logStart := len(e.Logs.String())

			n := attack(boundsWarmup, boundsWarmup+boundsRounds)

			after := scrapeLines(t, c, in.URL)
			if after != before {
				t.Errorf("/metrics grew from %d to %d lines over %d hostile requests; want a constant number of series",
					before, after, n)
			}
			logged := e.Logs.String()[logStart:]
			if len(logged) > n*maxLogLine {
				t.Errorf("the log grew %d bytes over %d hostile requests (%d per request); want at most %d per request",
					len(logged), n, len(logged)/n, maxLogLine)
			}
			sc := bufio.NewScanner(strings.NewReader(logged))
			sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
			for sc.Scan() {
				if len(sc.Text()) > maxLogLine {
					t.Errorf("a %d-byte log line (want at most %d): %.300s…", len(sc.Text()), maxLogLine, sc.Text())
					break
				}
			}
			for _, a := range answers {
				t.Error(a)
			}
		})
	}
}

// sendHostile sends r and checks the answer: never a 5xx except 501 for an
// unknown method, and the method never echoed into the page.
func sendHostile(t *testing.T, c *http.Client, base string, r hostileRequest) error {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), r.method, base+r.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%.20s… %.40s: %v", r.method, r.path, err)
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	switch {
	case r.unknown && res.StatusCode != http.StatusNotImplemented && res.StatusCode != http.StatusMethodNotAllowed:
		return fmt.Errorf("made-up method on %.40s: status %d, want 501 or 405", r.path, res.StatusCode)
	case !r.unknown && res.StatusCode >= 500:
		return fmt.Errorf("%s %.40s: status %d", r.method, r.path, res.StatusCode)
	case len(r.method) > 20 && strings.Contains(string(body), r.method[:20]):
		return fmt.Errorf("%.20s… %.40s: the method is echoed in the answer", r.method, r.path)
	}
	return nil
}

// scrapeLines returns the number of lines of /metrics.
func scrapeLines(t *testing.T, c *http.Client, base string) int {
	t.Helper()
	res, err := c.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", res.StatusCode, err)
	}
	return strings.Count(string(body), "\n")
}

// A made-up method is refused with a short 501 before any other middleware:
// no request id (so no session or database work either), no log line, and
// the method not echoed. Standard methods a route does not take are no 5xx.
func TestUnknownMethodsAreRefusedFirst(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		method, path string
		want         int // 0: anything but a 5xx
	}{
		{"PROPFIND", "/", http.StatusNotImplemented},
		{"get", "/profile", http.StatusNotImplemented},
		{"M-SEARCH", "/no/such", http.StatusNotImplemented},
		{"BREW", "/wechat/callback?code=a&state=b", http.StatusNotImplemented},
		{"X" + strings.Repeat("Y", 8000), "/admin/login", http.StatusNotImplemented},
		{http.MethodPut, "/", http.StatusMethodNotAllowed},
		{http.MethodPatch, "/admin/login", http.StatusMethodNotAllowed},
		{http.MethodTrace, "/", http.StatusMethodNotAllowed},
		{http.MethodOptions, "/no/such", http.StatusNotFound},
		{http.MethodConnect, "", 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%.12s %s", tt.method, tt.path), func(t *testing.T) {
			logStart := len(e.Logs.String())
			req, err := http.NewRequestWithContext(t.Context(), tt.method, in.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			switch {
			case tt.want == 0 && res.StatusCode >= 500, tt.want != 0 && res.StatusCode != tt.want:
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			case tt.want != http.StatusNotImplemented:
				return
			case len(body) > 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain"):
				t.Fatalf("a %d-byte %q answer; want a short plain-text one", len(body), res.Header.Get("Content-Type"))
			case strings.Contains(string(body), tt.method):
				t.Fatal("the method is echoed in the answer")
			case res.Header.Get("X-Request-Id") != "":
				t.Fatal("the request got an id: middleware ran before the refusal")
			case res.Header.Get("X-Content-Type-Options") != "nosniff":
				t.Fatal("the refusal lacks the security headers")
			case strings.Contains(e.Logs.String()[logStart:], "msg=request"):
				// Only request lines count: the instance's background work
				// (the NOTIFY listener, housekeeping) logs when it likes.
				t.Fatalf("the refusal was logged: %.200s", e.Logs.String()[logStart:])
			}
		})
	}
}
