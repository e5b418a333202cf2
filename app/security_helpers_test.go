package app

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"
)

// Helpers of the security tests (security_*_test.go): raw requests with a
// hand-made Cookie header, cookie parsing and signing, as an attacker would.

const (
	cookieName = "wxl_session"
	// otherSessionKey is a second SESSION_KEYS entry for rotation tests.
	otherSessionKey = "0303030303030303030303030303030303030303030303030303030303030303"
)

// rawGet sends a GET with exactly the given Cookie header (may be empty) and
// the WeChat user agent, following no redirect.
func rawGet(t *testing.T, rawURL, cookie string) page {
	t.Helper()
	return rawDo(t, http.MethodGet, rawURL, cookie, nil, nil)
}

func rawDo(t *testing.T, method, rawURL, cookie string, body io.Reader, hdr http.Header) page {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, rawURL, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("User-Agent", androidUA)
	for k, v := range hdr {
		req.Header[k] = v
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, redact(rawURL), err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return page{Status: res.StatusCode, Location: res.Header.Get("Location"), Body: string(data), Header: res.Header}
}

// setCookie returns the response's Set-Cookie for name, or nil.
func setCookie(p page, name string) *http.Cookie {
	var found *http.Cookie
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == name {
			found = c
		}
	}
	return found
}

// jarCookie is the browser's current session cookie value on in.
func (b *browser) jarCookie(in *instance) string {
	b.t.Helper()
	for _, c := range b.jar.Cookies(mustURL(b.t, in.URL)) {
		if c.Name == cookieName {
			return c.Value
		}
	}
	b.t.Fatal("browser has no session cookie")
	return ""
}

// setJarCookie plants a session cookie value in the browser.
func (b *browser) setJarCookie(in *instance, value string) {
	b.jar.SetCookies(mustURL(b.t, in.URL), []*http.Cookie{{Name: cookieName, Value: value, Path: "/"}})
}

// codec verifies and signs session cookies the way dbsession does.
func codec(t *testing.T, keyHex string) *securecookie.SecureCookie {
	t.Helper()
	k, err := hex.DecodeString(keyHex)
	if err != nil {
		t.Fatal(err)
	}
	return securecookie.New(k, nil).SetSerializer(securecookie.NopEncoder{})
}

// cookieID opens a cookie value with keyHex; ok is false if it does not verify.
func cookieID(t *testing.T, keyHex, name, value string) (string, bool) {
	t.Helper()
	var raw []byte
	if err := codec(t, keyHex).Decode(name, value, &raw); err != nil {
		return "", false
	}
	return string(raw), true
}

// signCookie makes a cookie value for id as if signed by the server.
func signCookie(t *testing.T, keyHex, name, id string) string {
	t.Helper()
	v, err := codec(t, keyHex).Encode(name, []byte(id))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// loggedIn reports whether the cookie value opens the profile on in.
func loggedIn(t *testing.T, in *instance, cookie string) bool {
	t.Helper()
	p := rawGet(t, in.URL+"/profile", cookieName+"="+cookie)
	switch {
	case p.Status == http.StatusOK:
		return true
	case p.Status == http.StatusFound && strings.HasPrefix(p.Location, "/wechat/entry"):
		return false
	}
	t.Fatalf("/profile answered %d %q", p.Status, p.Location)
	return false
}

// callbackParams returns the code and state of a callback URL.
func callbackParams(t *testing.T, cb string) (code, state string) {
	t.Helper()
	u, err := url.Parse(cb)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("code"), u.Query().Get("state")
}

// userIDOf returns the id of the user with the simulator's user key.
func (e *env) userIDOf(in *instance, userKey string) int64 {
	e.t.Helper()
	var id int64
	openid := ""
	for _, u := range e.Sim.Users() {
		if u.Key == userKey {
			openid = u.OpenID
		}
	}
	if err := in.App.DB.Gorm.Raw("SELECT id FROM users WHERE openid = ?", openid).Scan(&id).Error; err != nil || id == 0 {
		e.t.Fatalf("user %s not stored (%v)", userKey, err)
	}
	return id
}

// assert4xxPage checks that a hostile request got a 4xx HTML message page.
func assert4xxPage(t *testing.T, p page) {
	t.Helper()
	if p.Status < 400 || p.Status > 499 {
		t.Fatalf("status %d, want a 4xx page", p.Status)
	}
	if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") || !strings.Contains(p.Body, `class="msg"`) {
		t.Fatalf("status %d without the HTML message page: %.200q", p.Status, p.Body)
	}
}
