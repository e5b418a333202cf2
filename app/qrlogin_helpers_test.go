package app

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// Helpers of the computer-login tests (qrlogin_test.go): a desktop browser,
// the computer's code page and poll, and the phone's scan and confirm.

const desktopUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"

// uaTransport sends every request with one User-Agent (browser.do sets
// WeChat's; a computer is not WeChat).
type uaTransport struct{ ua string }

func (u uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	return http.DefaultTransport.RoundTrip(r)
}

// newComputer is a desktop browser: its own cookie jar, a Windows Chrome UA.
func newComputer(t *testing.T) *browser {
	b := newBrowser(t)
	b.c.Transport = uaTransport{desktopUA}
	return b
}

var (
	ticketRe = regexp.MustCompile(`data-ticket="([A-Za-z0-9_-]{32})"`)
	qrCSRFRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// showCode opens /login/qr on the computer and returns the ticket of its code.
func showCode(t *testing.T, pc *browser, in *instance) string {
	t.Helper()
	p := pc.get(in.URL + "/login/qr")
	m := ticketRe.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil {
		t.Fatalf("/login/qr: status %d, no ticket in %.300q", p.Status, p.Body)
	}
	if !strings.Contains(p.Body, in.URL+"/login/qr/scan?t="+m[1]) {
		t.Fatalf("/login/qr does not show the scan URL as a link")
	}
	return m[1]
}

// poll asks for the code's status as b and returns the HTTP status and the
// JSON's status ("" when none).
func poll(t *testing.T, b *browser, in *instance, ticket string) (int, string) {
	t.Helper()
	p := b.get(in.URL + "/login/qr/status?t=" + url.QueryEscape(ticket))
	m := regexp.MustCompile(`"status":"([a-z]+)"`).FindStringSubmatch(p.Body)
	if m == nil {
		return p.Status, ""
	}
	return p.Status, m[1]
}

// scanAndLogIn opens the scan URL on a phone that is not logged in yet: it
// is sent through the login (entry, WeChat, callback) back to the scan URL,
// and returns the confirmation page's CSRF token.
func (e *env) scanAndLogIn(phone *browser, in *instance, user, ticket string) string {
	e.t.Helper()
	scan := in.URL + "/login/qr/scan?t=" + ticket
	p := phone.get(scan)
	if p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/wechat/entry?next=") {
		e.t.Fatalf("scan while logged out: %d %q", p.Status, p.Location)
	}
	p = phone.get(in.URL + p.Location)
	if p.Status != http.StatusFound {
		e.t.Fatalf("entry: %d", p.Status)
	}
	p = phone.get(e.authorize(p.Location, user, "allow"))
	if p.Status != http.StatusFound || p.Location != "/login/qr/scan?t="+ticket {
		e.t.Fatalf("callback: %d %q, want back to the scan URL", p.Status, p.Location)
	}
	return scanned(e.t, phone, in, ticket)
}

// scanned opens the scan URL on a logged-in phone and returns the CSRF token
// of the confirmation page.
func scanned(t *testing.T, phone *browser, in *instance, ticket string) string {
	t.Helper()
	p := phone.get(in.URL + "/login/qr/scan?t=" + ticket)
	m := qrCSRFRe.FindStringSubmatch(p.Body)
	if p.Status != http.StatusOK || m == nil {
		t.Fatalf("scan: status %d, no confirmation form: %.300q", p.Status, p.Body)
	}
	for _, want := range []string{"Chrome 120", "Windows", "确认登录", "取消"} {
		if !strings.Contains(p.Body, want) {
			t.Fatalf("confirmation page lacks %q", want)
		}
	}
	return m[1]
}

// decide posts the phone's 确认登录 (action "confirm") or 取消 ("cancel").
func decide(t *testing.T, phone *browser, in *instance, ticket, csrf, action string) page {
	t.Helper()
	form := url.Values{"t": {ticket}, "action": {action}}
	if csrf != "" {
		form.Set("csrf", csrf)
	}
	return phone.do(t.Context(), http.MethodPost, in.URL+"/login/qr/confirm", strings.NewReader(form.Encode()))
}

// profileOK reports whether b is logged in on in.
func profileOK(t *testing.T, b *browser, in *instance) bool {
	t.Helper()
	p := b.get(in.URL + "/profile")
	return p.Status == http.StatusOK
}

// testClock is a clock tests move forward.
type testClock struct{ off atomic.Int64 }

func (c *testClock) now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *testClock) advance(d time.Duration) { c.off.Add(int64(d)) }
