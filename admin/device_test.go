package admin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"wxlogin/config"
)

func deviceAdmin(t *testing.T, base string, keys ...string) *Admin {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{BaseURL: u}
	for _, k := range keys {
		cfg.SessionKeys = append(cfg.SessionKeys, []byte(k))
	}
	return &Admin{cfg: cfg}
}

// issueDevice returns the cookie a successful login of adminID sets.
func issueDevice(t *testing.T, a *Admin, prev *device, adminID int64) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := a.setKnownDevice(rec, prev, adminID); err != nil {
		t.Fatal(err)
	}
	cs := rec.Result().Cookies()
	if len(cs) != 1 {
		t.Fatalf("%d cookies set, want 1", len(cs))
	}
	return cs[0]
}

func requestWith(cs ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/admin/login", nil)
	for _, c := range cs {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return r
}

// The known-device cookie: HttpOnly, SameSite=Lax, Path=/admin, a year,
// Secure (and __Secure-) under https.
func TestDeviceCookieAttributes(t *testing.T) {
	for _, tt := range []struct {
		base, name string
		secure     bool
	}{
		{"http://localhost:8080", "wxl_admin_device", false},
		{"https://login.example.com", "__Secure-wxl_admin_device", true},
	} {
		c := issueDevice(t, deviceAdmin(t, tt.base, "k1"), nil, 7)
		if c.Name != tt.name || c.Secure != tt.secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
			c.Path != "/admin" || c.MaxAge != 365*24*3600 || c.Domain != "" {
			t.Errorf("%s: cookie %+v", tt.base, c)
		}
	}
}

// A device cookie counts only for the admin it was issued to, only as
// signed with a current session key, and only in its own role.
func TestKnownDeviceVerification(t *testing.T) {
	a := deviceAdmin(t, "http://localhost:8080", "key-one")
	good := issueDevice(t, a, nil, 7)
	d := a.knownDevice(requestWith(good), 7)
	if d == nil || d.AdminID != 7 || len(d.ID) != 32 {
		t.Fatalf("own cookie: %+v", d)
	}
	// Logging in again keeps the device id; another admin gets a new one.
	if again := a.knownDevice(requestWith(issueDevice(t, a, d, 7)), 7); again == nil || again.ID != d.ID {
		t.Errorf("re-issued cookie: %+v, want id %s", again, d.ID)
	}
	if other := a.knownDevice(requestWith(issueDevice(t, a, d, 8)), 8); other == nil || other.ID == d.ID {
		t.Errorf("another admin's cookie kept the device id: %+v", other)
	}

	// A rotated key list (new key first) still verifies the old cookie.
	rotated := deviceAdmin(t, "http://localhost:8080", "key-two", "key-one")
	if rotated.knownDevice(requestWith(good), 7) == nil {
		t.Error("cookie signed with the older key refused after rotation")
	}

	tampered := *good
	tampered.Value = strings.ToUpper(good.Value[:10]) + good.Value[10:]
	// A payload signed with the raw session key (as the session cookie is)
	// is not a device cookie.
	raw, err := securecookie.New([]byte("key-one"), nil).SetSerializer(securecookie.NopEncoder{}).
		Encode(deviceCookie, []byte("7:0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name  string
		a     *Admin
		r     *http.Request
		admin int64
	}{
		{"another admin's id", a, requestWith(good), 8},
		{"no admin", a, requestWith(good), 0},
		{"no cookie", a, requestWith(), 7},
		{"tampered", a, requestWith(&tampered), 7},
		{"retired key", deviceAdmin(t, "http://localhost:8080", "key-two"), requestWith(good), 7},
		{"signed with the session key itself", a, requestWith(&http.Cookie{Name: deviceCookie, Value: raw}), 7},
		{"oversized", a, requestWith(&http.Cookie{Name: deviceCookie, Value: strings.Repeat("A", 4000)}), 7},
		{"http cookie on https", deviceAdmin(t, "https://login.example.com", "key-one"), requestWith(good), 7},
	} {
		if d := tt.a.knownDevice(tt.r, tt.admin); d != nil {
			t.Errorf("%s: accepted as device %+v", tt.name, d)
		}
	}
	// A planted junk cookie of the same name does not hide the real one.
	junk := &http.Cookie{Name: deviceCookie, Value: "junk"}
	if a.knownDevice(requestWith(junk, good), 7) == nil {
		t.Error("real cookie after a junk one refused")
	}
}

// A device cookie is known for a year after its last login, then no more.
// securecookie stamps the current time, so the test signs stamps of its own
// in securecookie's format (base64(date|base64(value)|mac), the MAC over
// name|date|base64(value)).
func TestKnownDeviceExpires(t *testing.T) {
	a := deviceAdmin(t, "http://localhost:8080", "k1")
	m := hmac.New(sha256.New, []byte("k1"))
	m.Write([]byte(deviceKeyLabel))
	key := m.Sum(nil)
	signedAt := func(at time.Time) string {
		val := base64.URLEncoding.EncodeToString([]byte("7:0123456789abcdef0123456789abcdef"))
		body := fmt.Sprintf("%d|%s", at.Unix(), val)
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(deviceCookie + "|" + body))
		return base64.URLEncoding.EncodeToString(append([]byte(body+"|"), mac.Sum(nil)...))
	}
	now := time.Now()
	for _, tt := range []struct {
		age   time.Duration
		known bool
	}{
		{time.Minute, true},
		{364 * 24 * time.Hour, true},
		{366 * 24 * time.Hour, false},
	} {
		r := requestWith(&http.Cookie{Name: deviceCookie, Value: signedAt(now.Add(-tt.age))})
		if got := a.knownDevice(r, 7) != nil; got != tt.known {
			t.Errorf("cookie %v old: known %v, want %v", tt.age, got, tt.known)
		}
	}
}

func TestParseDevice(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"7:0123456789abcdef0123456789abcdef", true},
		{"7:0123456789ABCDEF0123456789ABCDEF", false},
		{"7:0123456789abcdef", false},
		{"0:0123456789abcdef0123456789abcdef", false},
		{"-7:0123456789abcdef0123456789abcdef", false},
		{"x:0123456789abcdef0123456789abcdef", false},
		{"7|0123456789abcdef0123456789abcdef", false},
		{"7:0123456789abcdef0123456789abcdeg", false},
	} {
		if _, ok := parseDevice(tt.in); ok != tt.ok {
			t.Errorf("parseDevice(%q) ok = %v", tt.in, ok)
		}
	}
}
