package app

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// The state is 128 random bits, fresh for every login attempt.
func TestStateHas128RandomBits(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	seen := map[string]bool{}
	b := newBrowser(t)
	for i := range 40 {
		if i%5 == 0 {
			b = newBrowser(t) // at most 5 logins in flight per browser
		}
		u, err := url.Parse(b.entry(in, "/profile"))
		if err != nil {
			t.Fatal(err)
		}
		state := u.Query().Get("state")
		raw, err := hex.DecodeString(state)
		if err != nil || len(raw) < 16 {
			t.Fatalf("state %q: want at least 128 bits as hex", state)
		}
		if seen[state] {
			t.Fatalf("state %q issued twice", state)
		}
		seen[state] = true
	}
}

// A state logs in once: after that login ends (here by logging out), the
// same state with a fresh code is refused without calling WeChat.
func TestStateLogsInOnlyOnce(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	cb := e.authorize(b.entry(in, "/profile"), "zhangsan", "allow")
	if p := b.get(cb); p.Status != http.StatusFound || p.Location != "/profile" {
		t.Fatalf("login: %d %q", p.Status, p.Location)
	}
	if p := b.do(t.Context(), http.MethodPost, in.URL+"/logout", nil); p.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.Status)
	}
	e.Sim.Reset()
	fresh, err := e.Sim.IssueCode("zhangsan", "snsapi_userinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{cb, withCode(cb, fresh)} {
		p := b.get(u)
		if p.Status != http.StatusBadRequest {
			t.Fatalf("used state again: %d %q, want 400", p.Status, p.Location)
		}
		if b.get(in.URL+"/profile").Status != http.StatusFound {
			t.Fatal("a used state logged the browser in again")
		}
	}
	if n := e.Sim.Stats().Exchanges; n != 0 {
		t.Fatalf("%d WeChat exchanges for a used state", n)
	}
}

// The state expires ten minutes after the entry, on the server's clock.
func TestStateExpiresAfterTenMinutes(t *testing.T) {
	tests := []struct {
		name  string
		after time.Duration
		ok    bool
	}{
		{"just in time", 9*time.Minute + 50*time.Second, true},
		{"too late", 10*time.Minute + 10*time.Second, false},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			in := e.start("a", nil, Options{Now: clk.Now})
			b := newBrowser(t)
			e.Sim.Reset()
			cb := e.authorize(b.entry(in, "/profile"), "zhangsan", "allow")
			clk.Advance(tt.after)
			p := b.get(cb)
			if tt.ok && (p.Status != http.StatusFound || p.Location != "/profile") {
				t.Fatalf("after %v: %d %q, want logged in", tt.after, p.Status, p.Location)
			}
			if !tt.ok {
				if p.Status != http.StatusBadRequest {
					t.Fatalf("after %v: %d, want 400", tt.after, p.Status)
				}
				if n := e.Sim.Stats().Exchanges; n != 0 {
					t.Fatalf("expired state: %d WeChat exchanges", n)
				}
			}
		})
	}
}

// A callback URL (code and state) replayed by another browser never logs
// that browser in, whether the victim used it already or not, with the
// victim's state or with the attacker's own.
func TestReplayFromAnotherBrowserNeverLogsIn(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	victim := newBrowser(t)
	cb := e.authorize(victim.entry(in, "/profile"), "zhangsan", "allow")
	if p := victim.get(cb); p.Status != http.StatusFound {
		t.Fatalf("victim's login: %d", p.Status)
	}
	code, _ := callbackParams(t, cb)
	e.Sim.Reset()

	tests := []struct {
		name string
		url  func(attacker *browser) string
	}{
		{"whole callback URL, attacker without session", func(*browser) string { return cb }},
		{"whole callback URL, attacker with a session", func(a *browser) string {
			a.entry(in, "/profile")
			return cb
		}},
		{"victim's code with the attacker's own state", func(a *browser) string {
			_, state := callbackParams(t, e.authorize(a.entry(in, "/profile"), "english", "allow"))
			return in.URL + "/wechat/callback?code=" + code + "&state=" + state
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attacker := newBrowser(t)
			p := attacker.get(tt.url(attacker))
			if p.Status != http.StatusBadRequest {
				t.Fatalf("replay: %d %q, want 400", p.Status, p.Location)
			}
			if p := attacker.get(in.URL + "/profile"); p.Status != http.StatusFound {
				t.Fatalf("the attacker is logged in (profile %d)", p.Status)
			}
			if n := e.Sim.Stats().Exchanges; n != 0 {
				t.Fatalf("the replay reached WeChat (%d exchanges)", n)
			}
		})
	}
}

// WeChat's OAuth has no PKCE: a code stolen before the victim's browser
// presents it can be injected into the attacker's own session with the
// attacker's own state. This test pins down what wxlogin then does (see
// docs/SECURITY.md): the first browser to present the code claims it, the
// code is exchanged once, and the victim's browser is not logged in as
// anybody (it gets the "log in again" page) instead of joining the
// attacker's session.
func TestStolenCodeIsBoundToTheFirstBrowser(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	victim, attacker := newBrowser(t), newBrowser(t)
	victimCB := e.authorize(victim.entry(in, "/profile"), "zhangsan", "allow")
	code, _ := callbackParams(t, victimCB)
	_, attackerState := callbackParams(t, e.authorize(attacker.entry(in, "/profile"), "english", "deny"))

	p := attacker.get(in.URL + "/wechat/callback?code=" + code + "&state=" + attackerState)
	if p.Status != http.StatusFound {
		t.Fatalf("injected code: %d (the limit this test documents has changed?)", p.Status)
	}
	p = victim.get(victimCB)
	if p.Status != http.StatusBadRequest {
		t.Fatalf("victim after the theft: %d %q, want 400", p.Status, p.Location)
	}
	if victim.get(in.URL+"/profile").Status != http.StatusFound {
		t.Fatal("the victim's browser got a session from the attacker's exchange")
	}
	if st := e.Sim.Stats(); st.Exchanges != 1 || st.CodesExchangedMoreThanOnce != 0 {
		t.Fatalf("exchanges %d (more than once: %d), want 1", st.Exchanges, st.CodesExchangedMoreThanOnce)
	}
}
