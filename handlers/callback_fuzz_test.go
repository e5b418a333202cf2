package handlers_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"wxlogin/app"
	"wxlogin/config"
	"wxlogin/testdb"
	"wxlogin/wechatsim"
)

const fuzzUA = "Mozilla/5.0 (Linux; Android 13; wv) MicroMessenger/8.0.47.2560"

// codeSyntax is what a code may look like (WeChat's are 32 alphanumerics).
var codeSyntax = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// FuzzCallbackParams drives the real callback (the whole app on Postgres and
// a WeChat simulator) with arbitrary query strings from a browser that has a
// login in progress. Whatever the query, the answer is never a 5xx, and
// WeChat is only ever called when the query holds exactly one well-formed
// code and exactly this browser's live state.
func FuzzCallbackParams(f *testing.F) {
	sim := wechatsim.New(wechatsim.Options{})
	simSrv := httptest.NewServer(sim.Handler())
	f.Cleanup(simSrv.Close)
	vars := map[string]string{
		"DATABASE_URL": testdb.New(f), "BASE_URL": "http://wx.test",
		"WECHAT_APPID": sim.AppID(), "WECHAT_SECRET": sim.Secret(),
		"WECHAT_OAUTH_URL": simSrv.URL, "WECHAT_API_URL": simSrv.URL,
		"SESSION_KEYS": strings.Repeat("01", 32), "TOKEN_KEY": strings.Repeat("02", 32),
		"DATA_DIR": f.TempDir(),
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		f.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = a.Close() })

	// One browser starts a login: its cookie and its live state.
	req := httptest.NewRequest(http.MethodGet, "/wechat/entry?next=/profile", nil)
	req.Header.Set("User-Agent", fuzzUA)
	rec := httptest.NewRecorder()
	a.Handler.ServeHTTP(rec, req)
	loc, err := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusFound || err != nil || len(rec.Result().Cookies()) == 0 {
		f.Fatalf("entry: %d", rec.Code)
	}
	cookie := rec.Result().Cookies()[0]
	live := loc.Query().Get("state")
	// What the wrong-state seed must prove, asserted once: a well-formed code
	// that nothing has used yet, with a state this browser never got, is
	// turned away with the bad-state page and never reaches WeChat; the same
	// code with the live state does reach it, so the state alone stopped it.
	// The code must be fresh: a code the gate has already seen is answered
	// from its row and never reaches WeChat whatever the state.
	const unusedCode = "0000WrongStateProbe0000000000001"
	wrongState := strings.Repeat("0123456789abcdef", 2)
	if status := callback(a, cookie, "code="+unusedCode+"&state="+wrongState); status != http.StatusBadRequest {
		f.Fatalf("wrong state: status %d, want 400", status)
	}
	if n := sim.ExchangeCount(unusedCode); n != 0 {
		f.Fatalf("wrong state: the code reached WeChat %d times, want 0", n)
	}
	// This control is also the harness's self-check (a call would be seen).
	// WeChat rejects the code, which uses the live state up: one state
	// reaches WeChat with at most one rejected code, so from here on no
	// query reaches it (the fuzz below still checks that none that may not
	// does).
	callback(a, cookie, "code="+unusedCode+"&state="+live)
	if n := sim.ExchangeCount(unusedCode); n != 1 || sim.Stats().Exchanges != 1 {
		f.Fatalf("control: the same code with the live state reached WeChat %d times, want 1", n)
	}

	for _, s := range []string{
		"", "code=abc", "state=" + live, "code=&state=" + live,
		"code=081AbCdEfGhIjKlMnOpQrStUvWxYz012&state=" + live,
		// Wrong state with its own code: reusing the seed above's code would
		// be answered from that code's row, so WeChat could never be reached
		// and the seed would prove nothing.
		"code=082ZyXwVuTsRqPoNmLkJiHgFeDcBa987&state=" + wrongState,
		"code=a&code=b&state=" + live, "code=a&state=" + live + "&state=" + live,
		"code=%zz&state=" + live, "code=a;state=" + live, "code=" + strings.Repeat("a", 129) + "&state=" + live,
		"code=%3Cscript%3E&state=" + live, "code=a%00b&state=" + live, "code=a%26state%3D" + live,
		"state=" + strings.ToUpper(live) + "&code=abc", "code[]=a&state=" + live, "%", "&&&=&=", strings.Repeat("a=1&", 2000),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodGet, "/wechat/callback", nil)
		req.URL.RawQuery = query
		req.Header.Set("User-Agent", fuzzUA)
		req.AddCookie(cookie)
		before := sim.Stats().Exchanges
		rec := httptest.NewRecorder()
		a.Handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("query %q: status %d", query, rec.Code)
		}
		if rec.Code >= 400 && !strings.Contains(rec.Body.String(), "</html>") {
			t.Fatalf("query %q: %d without the error page", query, rec.Code)
		}
		if after := sim.Stats().Exchanges; after != before && !mayReachWeChat(query, live) {
			t.Fatalf("query %q reached WeChat", query)
		}
	})
}

// mayReachWeChat is the callback's contract, stated independently of its
// code: one well-formed code and the browser's own live state.
func mayReachWeChat(query, live string) bool {
	if len(query) > 4096 {
		return false
	}
	v, err := url.ParseQuery(query)
	if err != nil || len(v["code"]) != 1 || len(v["state"]) != 1 {
		return false
	}
	return v.Get("state") == live && codeSyntax.MatchString(v.Get("code"))
}

// callback sends one callback request from the fuzzed browser and returns
// the status.
func callback(a *app.App, cookie *http.Cookie, query string) int {
	req := httptest.NewRequest(http.MethodGet, "/wechat/callback?"+query, nil)
	req.Header.Set("User-Agent", fuzzUA)
	req.AddCookie(cookie)
	rec := httptest.NewRecorder()
	a.Handler.ServeHTTP(rec, req)
	return rec.Code
}
