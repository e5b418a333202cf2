package app

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"wxlogin/dbsession"
)

// Session fixation: an attacker plants the cookie of a session they started
// in the victim's browser; after the victim logs in, that cookie opens
// nothing. (The pre-login session is a sealed cookie, not a row: it cannot
// be deleted, but it never carries a user, and the login's new id is a row
// of its own.)
func TestSessionFixationPreLoginIDDiesAtLogin(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	attacker := newBrowser(t)
	attacker.entry(in, "/profile")
	planted := attacker.jarCookie(in)
	if _, ok := cookieID(t, testSessionKey, cookieName, planted); ok {
		t.Fatal("the pre-login cookie is a signed session id, not a sealed anonymous session")
	}

	victim := newBrowser(t)
	victim.setJarCookie(in, planted)
	p := e.login(victim, in, "zhangsan")
	if p.Status != http.StatusFound || p.Location != "/profile" {
		t.Fatalf("victim's login: %d %q", p.Status, p.Location)
	}
	fresh := setCookie(p, cookieName)
	if fresh == nil || fresh.Value == planted {
		t.Fatal("login did not issue a new session cookie")
	}
	freshID, ok := cookieID(t, testSessionKey, cookieName, fresh.Value)
	if !ok {
		t.Fatal("the logged-in cookie is not a signed session id")
	}
	if !loggedIn(t, in, fresh.Value) {
		t.Fatal("the victim's new cookie is not logged in")
	}
	if loggedIn(t, in, planted) {
		t.Fatal("the planted pre-login cookie opens the victim's account")
	}
	var n int64
	in.App.DB.Gorm.Raw("SELECT count(*) FROM sessions WHERE id_hash <> ?", dbsession.HashID(freshID)).Scan(&n)
	if n != 0 {
		t.Fatalf("%d session rows besides the victim's new one", n)
	}
}

// Idle and absolute timeouts are enforced by the server from its own clock;
// the browser's cookie expiry plays no part (the jar here never expires it).
func TestSessionTimeoutsAreServerSide(t *testing.T) {
	vars := map[string]string{"SESSION_IDLE_TIMEOUT": "1h", "SESSION_MAX_AGE": "3h"}
	tests := []struct {
		name  string
		steps []time.Duration // clock advances, each followed by a /profile
		want  []bool          // logged in after each step
	}{
		{"active within idle timeout", []time.Duration{59 * time.Minute, 59 * time.Minute}, []bool{true, true}},
		{"idle too long", []time.Duration{30 * time.Minute, 61 * time.Minute}, []bool{true, false}},
		{"absolute timeout despite activity",
			[]time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 29 * time.Minute, 2 * time.Minute},
			[]bool{true, true, true, true, false}},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			in := e.start("a", vars, Options{Now: clk.Now})
			b := newBrowser(t)
			if p := e.login(b, in, "zhangsan"); p.Status != http.StatusFound {
				t.Fatalf("login: %d", p.Status)
			}
			cookie := b.jarCookie(in)
			var total time.Duration
			for i, d := range tt.steps {
				clk.Advance(d)
				total += d
				if got := loggedIn(t, in, cookie); got != tt.want[i] {
					t.Fatalf("after %v: logged in = %v, want %v", total, got, tt.want[i])
				}
			}
		})
	}
}

// Logout and disabling a user end sessions at once, on every instance.
func TestLogoutAndDisableEndSessionsEverywhere(t *testing.T) {
	e := newEnv(t)
	a := e.start("a", nil, Options{})
	b := e.start("b", nil, Options{})

	t.Run("logout", func(t *testing.T) {
		br := newBrowser(t)
		e.login(br, a, "zhangsan")
		cookie := br.jarCookie(a)
		if !loggedIn(t, b, cookie) {
			t.Fatal("session not valid on the other instance")
		}
		p := rawDo(t, http.MethodPost, a.URL+"/logout", cookieName+"="+cookie, strings.NewReader(""), nil)
		if p.Status != http.StatusSeeOther {
			t.Fatalf("logout: %d", p.Status)
		}
		if c := setCookie(p, cookieName); c == nil || c.MaxAge >= 0 {
			t.Fatal("logout did not clear the cookie")
		}
		if loggedIn(t, b, cookie) || loggedIn(t, a, cookie) {
			t.Fatal("the cookie still works after logout")
		}
	})
	t.Run("disable user", func(t *testing.T) {
		br := newBrowser(t)
		e.login(br, a, "english")
		cookie := br.jarCookie(a)
		uid := e.userIDOf(a, "english")
		if err := a.App.DB.SetUserDisabled(context.Background(), uid, true); err != nil {
			t.Fatal(err)
		}
		if loggedIn(t, b, cookie) {
			t.Fatal("a disabled user's session still works")
		}
		again := newBrowser(t)
		if p := e.login(again, b, "english"); p.Status != http.StatusForbidden {
			t.Fatalf("login of a disabled user: %d, want 403", p.Status)
		}
		if loggedIn(t, b, again.jarCookie(b)) {
			t.Fatal("a disabled user logged in")
		}
	})
}

// SESSION_KEYS rotation: instance "old" knows only key 1; "rotated" signs
// with key 2 and still verifies key 1; "removed" knows only key 2.
func TestSessionKeyRotation(t *testing.T) {
	e := newEnv(t)
	old := e.start("old", nil, Options{})
	rotated := e.start("rotated", map[string]string{"SESSION_KEYS": otherSessionKey + "," + testSessionKey}, Options{})
	removed := e.start("removed", map[string]string{"SESSION_KEYS": otherSessionKey}, Options{})

	b := newBrowser(t)
	e.login(b, old, "zhangsan")
	v1 := b.jarCookie(old)
	id1, ok := cookieID(t, testSessionKey, cookieName, v1)
	if !ok {
		t.Fatal("old cookie does not verify with key 1")
	}

	p := rawGet(t, rotated.URL+"/profile", cookieName+"="+v1)
	if p.Status != http.StatusOK {
		t.Fatalf("cookie signed with the older key: %d, want 200 (still logged in)", p.Status)
	}
	re := setCookie(p, cookieName)
	if re == nil {
		t.Fatal("cookie signed with the older key was not re-issued")
	}
	if id2, ok := cookieID(t, otherSessionKey, cookieName, re.Value); !ok || id2 != id1 {
		t.Fatalf("re-issued cookie: verifies with the newest key = %v, same session = %v", ok, id2 == id1)
	}
	if _, ok := cookieID(t, testSessionKey, cookieName, re.Value); ok {
		t.Fatal("re-issued cookie still verifies with the old key")
	}
	if !re.HttpOnly || re.SameSite != http.SameSiteLaxMode || re.MaxAge <= 0 {
		t.Fatalf("re-issued cookie lost its attributes: %+v", re)
	}
	if p := rawGet(t, rotated.URL+"/profile", cookieName+"="+re.Value); p.Status != http.StatusOK || setCookie(p, cookieName) != nil {
		t.Fatalf("re-issued cookie: %d, re-issued again: %v", p.Status, setCookie(p, cookieName) != nil)
	}

	// Once key 1 is removed, its cookies are anonymous; the new one works.
	for _, path := range []string{"/", "/profile", "/wechat/entry"} {
		p := rawGet(t, removed.URL+path, cookieName+"="+v1)
		if p.Status >= 500 {
			t.Fatalf("%s with a cookie of a removed key: %d", path, p.Status)
		}
	}
	if loggedIn(t, removed, v1) {
		t.Fatal("a cookie signed with a removed key is logged in")
	}
	if !loggedIn(t, removed, re.Value) {
		t.Fatal("the re-issued cookie does not work once the old key is gone")
	}
}

// Tampered, truncated, forged and oversized cookies are anonymous, never an
// error page.
func TestTamperedCookiesAreAnonymous(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	e.login(b, in, "zhangsan")
	good := b.jarCookie(in)
	id, _ := cookieID(t, testSessionKey, cookieName, good)
	flip := func(s string, i int) string {
		c := s[i]
		if c == 'A' {
			c = 'B'
		} else {
			c = 'A'
		}
		return s[:i] + string(c) + s[i+1:]
	}
	tests := []struct{ name, cookie string }{
		{"first byte flipped", cookieName + "=" + flip(good, 0)},
		{"middle byte flipped", cookieName + "=" + flip(good, len(good)/2)},
		{"last byte flipped", cookieName + "=" + flip(good, len(good)-1)},
		{"truncated by one", cookieName + "=" + good[:len(good)-1]},
		{"truncated to half", cookieName + "=" + good[:len(good)/2]},
		{"empty", cookieName + "="},
		{"not base64", cookieName + "=%%%***"},
		{"bare session id", cookieName + "=" + id},
		{"signed for another cookie name", cookieName + "=" + signCookie(t, testSessionKey, "other", id)},
		{"signed with an unknown key", cookieName + "=" + signCookie(t, otherSessionKey, cookieName, id)},
		{"validly signed unknown id", cookieName + "=" + signCookie(t, testSessionKey, cookieName, "no-such-session-id-0123456789")},
		{"validly signed overlong id", cookieName + "=" + signCookie(t, testSessionKey, cookieName, strings.Repeat("x", 100))},
		{"oversized value", cookieName + "=" + strings.Repeat("A", 3000)},
		{"duplicated cookie, bad first", cookieName + "=" + flip(good, 3) + "; " + cookieName + "=garbage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/", "/profile", "/wechat/entry?next=/profile"} {
				p := rawGet(t, in.URL+path, tt.cookie)
				if p.Status >= 500 {
					t.Fatalf("%s: %d", path, p.Status)
				}
				if path == "/profile" && p.Status != http.StatusFound {
					t.Fatalf("/profile with a bad cookie: %d, want the login redirect", p.Status)
				}
			}
			if p := rawDo(t, http.MethodPost, in.URL+"/logout", tt.cookie, strings.NewReader(""), nil); p.Status >= 500 {
				t.Fatalf("logout: %d", p.Status)
			}
		})
	}
	if !loggedIn(t, in, good) {
		t.Fatal("the genuine cookie stopped working (a forged logout ended it?)")
	}
}
