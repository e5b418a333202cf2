package wechatsim_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"wxlogin/wechatsim"
)

var ridRE = regexp.MustCompile(`^[a-z_ ,]+, rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$`)

func TestExchangeErrcodes(t *testing.T) {
	e := newEnv(t, nil)
	used := mustCode(t, e, "zhangsan", "snsapi_base")
	e.exchange(t, used)
	expired := mustCode(t, e, "zhangsan", "snsapi_base")
	other := wechatsim.New(wechatsim.Options{AppID: "wx5im0000000000002"})
	foreign, _ := other.IssueCode("zhangsan", "snsapi_base")
	e.clock.Advance(5 * time.Minute)
	fresh := mustCode(t, e, "zhangsan", "snsapi_base")

	q := func(appid, secret, code, grant string) string {
		return "/sns/oauth2/access_token?" + url.Values{"appid": {appid}, "secret": {secret}, "code": {code}, "grant_type": {grant}}.Encode()
	}
	id, sec := e.sim.AppID(), e.sim.Secret()
	tests := []struct {
		name, path string
		want       int
		msg        string
	}{
		{"wrong appid", q("wx0000000000000bad", sec, fresh, "authorization_code"), 40013, "invalid appid"},
		{"wrong secret", q(id, "nope", fresh, "authorization_code"), 40125, "invalid appsecret"},
		{"missing code", q(id, sec, "", "authorization_code"), 41008, "missing code"},
		{"wrong grant type", q(id, sec, fresh, "client_credential"), 40002, "invalid grant_type"},
		{"unknown code", q(id, sec, "nosuchcode", "authorization_code"), 40029, "invalid code"},
		{"another appid's code", q(id, sec, foreign, "authorization_code"), 40029, "invalid code"},
		{"used code", q(id, sec, used, "authorization_code"), 40163, "code been used"},
		{"expired code", q(id, sec, expired, "authorization_code"), 42003, "code expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := e.api(t, tt.path)
			msg, _ := m["errmsg"].(string)
			if errcode(m) != tt.want || !strings.HasPrefix(msg, tt.msg+", rid: ") || !ridRE.MatchString(msg) {
				t.Fatalf("answer %v", m)
			}
		})
	}
	// The fresh code is still good after all that.
	if m := e.exchange(t, fresh); m["access_token"] == nil {
		t.Fatalf("fresh code: %v", m)
	}
}

func mustCode(t *testing.T, e *env, key, scope string) string {
	t.Helper()
	c, err := e.sim.IssueCode(key, scope)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9A-Za-z]{32}$`).MatchString(c) {
		t.Fatalf("code %q does not look like WeChat's", c)
	}
	return c
}

func TestIssueCodeRejects(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.sim.IssueCode("nobody", "snsapi_base"); err == nil {
		t.Fatal("unknown user accepted")
	}
	if _, err := e.sim.IssueCode("zhangsan", "snsapi_login"); err == nil {
		t.Fatal("unknown scope accepted")
	}
}

// The raw JSON is WeChat's shape: compact, HTML and non-ASCII unescaped,
// optional fields absent rather than empty.
func TestRawAnswers(t *testing.T) {
	e := newEnv(t, nil)
	raw := func(path string) string {
		_, body := get(t, e.base+path)
		return body
	}
	exch := func(key, scope string) map[string]any { return e.exchange(t, mustCode(t, e, key, scope)) }

	base := exch("zhangsan", "snsapi_base")
	if _, ok := base["unionid"]; ok {
		t.Fatalf("snsapi_base answer has unionid: %v", base)
	}
	if _, ok := base["is_snapshotuser"]; ok {
		t.Fatalf("ordinary user has is_snapshotuser: %v", base)
	}
	if snap := exch("snapshot", "snsapi_base"); snap["is_snapshotuser"] != float64(1) {
		t.Fatalf("snapshot: %v", snap)
	}
	if nu := exch("nounion", "snsapi_userinfo"); nu["unionid"] != nil {
		t.Fatalf("nounion: %v", nu)
	}

	tok := exch("xss", "snsapi_userinfo")
	body := raw("/sns/userinfo?" + url.Values{"access_token": {tok["access_token"].(string)}, "openid": {tok["openid"].(string)}, "lang": {"zh_CN"}}.Encode())
	if !strings.Contains(body, `"nickname":"<script>alert(\"x\")</script> & \"Tom\" 's"`) || !strings.Contains(body, `"city":""`) {
		t.Fatalf("userinfo raw %s", body)
	}
	if !strings.Contains(body, `"privilege":[]`) || strings.HasSuffix(body, "\n") {
		t.Fatalf("userinfo raw %q", body)
	}
	tok = exch("emoji", "snsapi_userinfo")
	body = raw("/sns/userinfo?" + url.Values{"access_token": {tok["access_token"].(string)}, "openid": {tok["openid"].(string)}}.Encode())
	if !strings.Contains(body, `"nickname":"小明🐱🌸✨"`) {
		t.Fatalf("emoji raw %s", body)
	}
	for _, k := range []string{"access_token", "refresh_token"} {
		if s, _ := tok[k].(string); len(s) < 32 {
			t.Fatalf("%s %q too short", k, s)
		}
	}
}

func TestContentTypeRotation(t *testing.T) {
	e := newEnv(t, nil)
	seen := map[string]bool{}
	for range 6 {
		resp, _ := get(t, e.base+"/sns/auth?access_token=x&openid=y")
		seen[resp.Header.Get("Content-Type")] = true
	}
	for _, ct := range []string{"application/json; encoding=utf-8", "application/json", "text/plain"} {
		if !seen[ct] {
			t.Fatalf("Content-Type %q never sent; saw %v", ct, seen)
		}
	}
}

func TestAuthAndRefresh(t *testing.T) {
	e := newEnv(t, nil)
	tok := e.exchange(t, mustCode(t, e, "english", "snsapi_userinfo"))
	at, rt, openid := tok["access_token"].(string), tok["refresh_token"].(string), tok["openid"].(string)
	auth := func(at, openid string) map[string]any {
		return e.api(t, "/sns/auth?"+url.Values{"access_token": {at}, "openid": {openid}}.Encode())
	}
	if m := auth(at, openid); errcode(m) != 0 || m["errmsg"] != "ok" {
		t.Fatalf("auth %v", m)
	}
	if m := auth(at, e.user(t, "zhangsan").OpenID); errcode(m) != 40003 {
		t.Fatalf("auth wrong openid %v", m)
	}
	if m := auth("bogus", openid); errcode(m) != 40001 {
		t.Fatalf("auth bogus %v", m)
	}
	e.clock.Advance(2 * time.Hour)
	if m := auth(at, openid); errcode(m) != 42001 {
		t.Fatalf("auth expired %v", m)
	}
	refresh := func(rt string) map[string]any {
		return e.api(t, "/sns/oauth2/refresh_token?"+url.Values{"appid": {e.sim.AppID()}, "grant_type": {"refresh_token"}, "refresh_token": {rt}}.Encode())
	}
	m := refresh(rt)
	if m["access_token"] == at || m["refresh_token"] != rt || m["openid"] != openid || m["scope"] != "snsapi_userinfo" || m["expires_in"] != float64(7200) || len(m) != 5 {
		t.Fatalf("refresh %v", m)
	}
	if m := auth(m["access_token"].(string), openid); errcode(m) != 0 {
		t.Fatalf("auth after refresh %v", m)
	}
	if m := refresh("bogus"); errcode(m) != 40030 {
		t.Fatalf("refresh bogus %v", m)
	}
	e.clock.Advance(30 * 24 * time.Hour)
	if m := refresh(rt); errcode(m) != 42002 {
		t.Fatalf("refresh expired %v", m)
	}
}

func TestUserInfoScopeAndLang(t *testing.T) {
	e := newEnv(t, nil)
	ui := func(tok map[string]any, lang string) map[string]any {
		return e.api(t, "/sns/userinfo?"+url.Values{"access_token": {tok["access_token"].(string)}, "openid": {tok["openid"].(string)}, "lang": {lang}}.Encode())
	}
	if m := ui(e.exchange(t, mustCode(t, e, "english", "snsapi_base")), "en"); errcode(m) != 48001 {
		t.Fatalf("base token userinfo %v", m)
	}
	tok := e.exchange(t, mustCode(t, e, "english", "snsapi_userinfo"))
	// Today's WeChat: no gender and no region for anyone, whatever lang
	// asks (the fields are still there, zero and empty).
	for _, lang := range []string{"en", "zh_CN", "zh_TW", "fr"} {
		m := ui(tok, lang)
		if m["nickname"] != "Alice" || m["sex"] != float64(0) {
			t.Fatalf("lang %s: %v", lang, m)
		}
		for _, k := range []string{"province", "city", "country"} {
			if v, ok := m[k]; !ok || v != "" {
				t.Fatalf("lang %s: %s = %v (present %v), want empty", lang, k, v, ok)
			}
		}
	}
}

// Of many concurrent exchanges of one code exactly one succeeds, and every
// attempt is counted.
func TestCodeSingleUseUnderConcurrency(t *testing.T) {
	e := newEnv(t, nil)
	code := mustCode(t, e, "zhangsan", "snsapi_userinfo")
	const n = 20
	results := make(chan int, n)
	var wg sync.WaitGroup
	q := url.Values{"appid": {e.sim.AppID()}, "secret": {e.sim.Secret()}, "code": {code}, "grant_type": {"authorization_code"}}
	for range n {
		// No t.Fatal off the test goroutine: failures become errcode -999.
		wg.Go(func() {
			var m map[string]any
			resp, err := http.Get(e.base + "/sns/oauth2/access_token?" + q.Encode())
			if err != nil {
				results <- -999
				return
			}
			defer resp.Body.Close()
			if json.NewDecoder(resp.Body).Decode(&m) != nil {
				results <- -999
				return
			}
			results <- errcode(m)
		})
	}
	wg.Wait()
	close(results)
	ok, used := 0, 0
	for c := range results {
		switch c {
		case 0:
			ok++
		case 40163:
			used++
		}
	}
	if ok != 1 || used != n-1 {
		t.Fatalf("ok=%d used=%d", ok, used)
	}
	if got := e.sim.ExchangeCount(code); got != n {
		t.Fatalf("ExchangeCount = %d", got)
	}
	st := e.sim.Stats()
	if st.Exchanges != n || st.CodesExchangedMoreThanOnce != 1 || st.CodesIssued != 1 || st.ByEndpoint["access_token"] != n {
		t.Fatalf("stats %+v", st)
	}
	if e.sim.ExchangeCount("never-seen") != 0 {
		t.Fatal("count for unknown code")
	}
}

func TestFaults(t *testing.T) {
	e := newEnv(t, nil)
	auth := "/sns/auth?access_token=x&openid=y"

	e.sim.SetFault("auth", wechatsim.Fault{ErrCode: -1, Count: 2})
	for i, want := range []int{-1, -1, 40001} {
		if m := e.api(t, auth); errcode(m) != want {
			t.Fatalf("call %d: %v", i, m)
		}
	}

	e.sim.SetFault("auth", wechatsim.Fault{HTTPStatus: 503})
	for range 2 {
		if resp, _ := get(t, e.base+auth); resp.StatusCode != 503 {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	e.sim.SetFault("auth", wechatsim.Fault{BadJSON: true, Count: 1})
	if _, body := get(t, e.base+auth); json.Valid([]byte(body)) {
		t.Fatalf("bad json fault sent valid JSON %q", body)
	}

	e.sim.SetFault("auth", wechatsim.Fault{Delay: 60 * time.Millisecond, Count: 1})
	start := time.Now()
	if m := e.api(t, auth); errcode(m) != 40001 || time.Since(start) < 60*time.Millisecond {
		t.Fatalf("delay-only fault: %v after %v", m, time.Since(start))
	}

	e.sim.SetFault("auth", wechatsim.Fault{Hang: true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.base+auth, nil)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("hang answered")
	}

	e.sim.ClearFaults()
	if m := e.api(t, auth); errcode(m) != 40001 {
		t.Fatalf("after ClearFaults: %v", m)
	}
}

// A faulted exchange counts but leaves the code unused, unless ConsumeCode.
func TestExchangeFaultAndCode(t *testing.T) {
	e := newEnv(t, nil)
	for _, consume := range []bool{false, true} {
		code := mustCode(t, e, "zhangsan", "snsapi_base")
		e.sim.SetFault("access_token", wechatsim.Fault{ErrCode: -1, Count: 1, ConsumeCode: consume})
		if m := e.exchange(t, code); errcode(m) != -1 {
			t.Fatalf("fault not injected: %v", m)
		}
		want := 0
		if consume {
			want = 40163
		}
		if m := e.exchange(t, code); errcode(m) != want {
			t.Fatalf("consume=%v: second exchange %v", consume, m)
		}
		if e.sim.ExchangeCount(code) != 2 {
			t.Fatalf("ExchangeCount %d", e.sim.ExchangeCount(code))
		}
	}
}

// Latency respects the caller: a caller that leaves early gets nothing, and
// its exchange is counted but not processed. The caller leaves once its call
// has been counted (not after a guessed time), so the count is exactly one.
func TestLatencyRespectsContext(t *testing.T) {
	e := newEnv(t, nil)
	code := mustCode(t, e, "zhangsan", "snsapi_base")
	e.sim.SetLatency(5 * time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := url.Values{"appid": {e.sim.AppID()}, "secret": {e.sim.Secret()}, "code": {code}, "grant_type": {"authorization_code"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.base+"/sns/oauth2/access_token?"+q.Encode(), nil)
	done := make(chan error, 1)
	go func() {
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	// The simulator counts a call on arrival, before its latency.
	deadline := time.Now().Add(10 * time.Second)
	for e.sim.ExchangeCount(code) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the call was not counted within 10s of being sent")
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("answered despite latency")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("latency ignored the context: no return within 2s of cancelling (latency 5s)")
	}
	if n := e.sim.ExchangeCount(code); n != 1 {
		t.Fatalf("ExchangeCount after the abandoned call = %d, want 1", n)
	}
	e.sim.SetLatency(0)
	if m := e.exchange(t, code); errcode(m) != 0 {
		t.Fatalf("abandoned call consumed the code: %v", m)
	}
	if n := e.sim.ExchangeCount(code); n != 2 {
		t.Fatalf("ExchangeCount after the second call = %d, want 2", n)
	}
}

func TestReset(t *testing.T) {
	e := newEnv(t, nil)
	code := mustCode(t, e, "zhangsan", "snsapi_base")
	e.sim.SetFault("access_token", wechatsim.Fault{ErrCode: -1})
	e.sim.SetLatency(time.Millisecond)
	e.exchange(t, code)
	e.sim.Reset()
	if st := e.sim.Stats(); st.Exchanges != 0 || st.CodesIssued != 0 || len(st.ByEndpoint) != 0 || e.sim.ExchangeCount(code) != 0 {
		t.Fatalf("after Reset: %+v", st)
	}
	if m := e.exchange(t, code); errcode(m) != 0 {
		t.Fatalf("fault survived Reset or code lost: %v", m)
	}
}

func TestControlEndpoints(t *testing.T) {
	e := newEnv(t, nil)
	ctl := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, e.base+"/_control/"+path, strings.NewReader(body))
		resp, b := do(t, req)
		var m map[string]any
		_ = json.Unmarshal([]byte(b), &m)
		return resp.StatusCode, m
	}
	code := mustCode(t, e, "zhangsan", "snsapi_base")
	e.exchange(t, code)
	e.exchange(t, code)
	if st, m := ctl("GET", "exchanges?code="+code, ""); st != 200 || m["code_count"] != float64(2) {
		t.Fatalf("exchanges %d %v", st, m)
	}
	if st, m := ctl("GET", "stats", ""); st != 200 || m["exchanges"] != float64(2) || m["codes_exchanged_more_than_once"] != float64(1) {
		t.Fatalf("stats %d %v", st, m)
	}
	if st, _ := ctl("POST", "latency?ms=5", ""); st != 200 {
		t.Fatalf("latency %d", st)
	}
	for _, bad := range []string{"latency?ms=-1", "latency?ms=abc", "latency?ms=600000"} {
		if st, _ := ctl("POST", bad, ""); st != 400 {
			t.Fatalf("%s accepted", bad)
		}
	}
	if st, _ := ctl("POST", "fault", `{"endpoint":"userinfo","errcode":-1,"count":1}`); st != 200 {
		t.Fatalf("fault %d", st)
	}
	for _, bad := range []string{`{"endpoint":"nope"}`, `{"endpoint":"auth","count":-1}`, `{"endpoint":"auth","bogus":1}`, `not json`, `{"endpoint":"auth","http_status":99}`} {
		if st, _ := ctl("POST", "fault", bad); st != 400 {
			t.Fatalf("fault %s accepted", bad)
		}
	}
	if st, _ := ctl("POST", "fault", `{"endpoint":"auth","http_status":502}`); st != 200 {
		t.Fatal("fault rejected")
	}
	if resp, _ := get(t, e.base+"/sns/auth?access_token=x&openid=y"); resp.StatusCode != 502 {
		t.Fatalf("control fault not applied: %d", resp.StatusCode)
	}
	if st, _ := ctl("POST", "clear-faults", ""); st != 200 {
		t.Fatal("clear-faults")
	}
	if resp, _ := get(t, e.base+"/sns/auth?access_token=x&openid=y"); resp.StatusCode != 200 {
		t.Fatalf("fault survived clear: %d", resp.StatusCode)
	}
	if st, _ := ctl("POST", "reset", ""); st != 200 || e.sim.Stats().Exchanges != 0 {
		t.Fatal("reset")
	}
	req, _ := http.NewRequest("GET", e.base+"/_control/users", nil)
	if resp, body := do(t, req); resp.StatusCode != 200 || !strings.Contains(body, `"Key":"zhangsan"`) {
		t.Fatalf("users %d %s", resp.StatusCode, body)
	}
	if resp, _ := get(t, e.base+"/_control/reset"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET reset: %d", resp.StatusCode)
	}
}
