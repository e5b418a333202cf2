package app

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Issue 17.1, from outside: the attacker takes a pre-login cookie and its
// state from the entry, plants the cookie in the victim's browser and waits
// for the victim to log in. Then the callback with that cookie, that state
// and a made-up code — or the attacker's own real code — must log nobody
// in: not right after the victim's login, and not after the victim logged
// out. Before the fix it answered 302 /profile as the victim.
func TestPlantedCookieWithMadeUpCodeLogsNobodyIn(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	attacker := newBrowser(t)
	authURL := attacker.entry(in, "/profile")
	base := mustURL(t, in.URL)
	victim := newBrowser(t)
	victim.jar.SetCookies(base, attacker.jar.Cookies(base))
	cb := e.authorize(authURL, "zhangsan", "allow") // the victim consents at WeChat
	if p := victim.get(cb); p.Status != http.StatusFound || p.Location != "/profile" {
		t.Fatalf("victim's login: %d %q", p.Status, p.Location)
	}
	if p := victim.get(in.URL + "/profile"); p.Status != http.StatusOK {
		t.Fatalf("victim not logged in: %d", p.Status)
	}
	state := mustURL(t, cb).Query().Get("state")
	own := e.authorize(authURL, "emoji", "allow") // a real code of the attacker's own, same state
	tries := []struct{ name, callback string }{
		{"made-up code", in.URL + "/wechat/callback?code=MADEUPCODE0000000000000000000001&state=" + state},
		{"another made-up code", in.URL + "/wechat/callback?code=MADEUPCODE0000000000000000000002&state=" + state},
		{"the attacker's own code", own},
	}
	for _, try := range tries {
		p := attacker.get(try.callback)
		if p.Status == http.StatusFound && !strings.HasPrefix(p.Location, "/wechat/entry") {
			t.Fatalf("%s: %d %q; the attacker got in", try.name, p.Status, p.Location)
		}
		if p := attacker.get(in.URL + "/profile"); p.Status == http.StatusOK {
			t.Fatalf("%s: the attacker's browser is logged in", try.name)
		}
	}
	if n := e.Sim.Stats().Exchanges; n > 2 {
		t.Fatalf("%d exchanges: the used-up state kept reaching WeChat", n)
	}
	// After the victim logged out, the cookie and state are worth nothing either.
	victim.do(context.Background(), http.MethodPost, in.URL+"/logout", strings.NewReader(""))
	p := attacker.get(in.URL + "/wechat/callback?code=MADEUPCODE0000000000000000000003&state=" + state)
	if p.Status == http.StatusFound && p.Location == "/profile" {
		t.Fatal("after logout: the attacker got in")
	}
}

// Issue 17.3, from outside: one cookie and one state with many made-up
// codes, concurrent and then one after another, reach WeChat at most once;
// every answer is a restart or an error page, never a 500.
func TestOneStateManyMadeUpCodesOneWeChatCall(t *testing.T) {
	e := newEnv(t)
	cl := e.cluster(2, Options{})
	b := newBrowser(t)
	authURL := b.entry(cl.instance(), "/profile")
	q, _ := url.ParseQuery(strings.SplitN(strings.TrimSuffix(authURL, "#wechat_redirect"), "?", 2)[1])
	state := q.Get("state")
	cb := func(i int) string {
		return fmt.Sprintf("%s/wechat/callback?code=MADEUP%026d&state=%s", cl.URL, i, state)
	}
	pages := race(t, 40, func(i int) (page, error) { return b.getOn(context.Background(), cb(i), i%2) })
	for i := 40; i < 100; i++ {
		pages = append(pages, b.get(cb(i)))
	}
	for i, p := range pages {
		if p.Status >= 500 && p.Status != http.StatusBadGateway {
			t.Fatalf("request %d: %d", i, p.Status)
		}
		if p.Status == http.StatusFound && p.Location == "/profile" {
			t.Fatalf("request %d logged in with a made-up code", i)
		}
	}
	if n := e.Sim.Stats().Exchanges; n > 1 {
		t.Fatalf("%d WeChat exchanges for one state, want at most 1", n)
	}
}
