package wechatsim_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"wxlogin/wechatsim"
)

// wxLogin is the mini program's wx.login through the stand-in endpoint.
func wxLogin(t *testing.T, e *env, user string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base+"/wx/login", nil)
	req.Header.Set("X-Sim-User", user)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m struct{ Code string }
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&m) != nil || m.Code == "" {
		t.Fatalf("wx.login: status %d", resp.StatusCode)
	}
	return m.Code
}

func jscodePath(e *env, appid, secret, code string) string {
	return "/sns/jscode2session?" + url.Values{"appid": {appid}, "secret": {secret}, "js_code": {code}, "grant_type": {"authorization_code"}}.Encode()
}

// The mini program is an app of its own: its own credentials and openids,
// the same unionid per person; its codes are single use, live 5 minutes,
// and are no web codes (nor the other way round).
func TestJSCode2Session(t *testing.T) {
	e := newEnv(t, nil)
	mini := func(code string) map[string]any {
		return e.api(t, jscodePath(e, e.sim.MiniAppID(), e.sim.MiniSecret(), code))
	}
	zs := e.user(t, "zhangsan")
	code := wxLogin(t, e, "zhangsan")
	m := mini(code)
	if m["openid"] != zs.MiniOpenID || m["unionid"] != zs.UnionID || m["session_key"] == "" || zs.MiniOpenID == zs.OpenID {
		t.Fatalf("jscode2session %v (person %+v)", m, zs)
	}
	if e.sim.ExchangeCount(code) != 1 {
		t.Fatalf("exchange count %d", e.sim.ExchangeCount(code))
	}
	tests := []struct {
		name string
		path string
		want int
	}{
		{"used", jscodePath(e, e.sim.MiniAppID(), e.sim.MiniSecret(), code), 40163},
		{"official account's credentials", jscodePath(e, e.sim.AppID(), e.sim.Secret(), wxLogin(t, e, "zhangsan")), 40013},
		{"wrong secret", jscodePath(e, e.sim.MiniAppID(), "nope", wxLogin(t, e, "zhangsan")), 40125},
		{"web code", jscodePath(e, e.sim.MiniAppID(), e.sim.MiniSecret(), mustCode(t, e, "zhangsan", "snsapi_base")), 40029},
		{"unknown code", jscodePath(e, e.sim.MiniAppID(), e.sim.MiniSecret(), "nosuchcode"), 40029},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errcode(e.api(t, tt.path)); got != tt.want {
				t.Fatalf("errcode %d, want %d", got, tt.want)
			}
		})
	}
	// A mini program code at the web exchange: another appid's code.
	q := url.Values{"appid": {e.sim.AppID()}, "secret": {e.sim.Secret()}, "code": {wxLogin(t, e, "zhangsan")}, "grant_type": {"authorization_code"}}
	if got := errcode(e.api(t, "/sns/oauth2/access_token?"+q.Encode())); got != 40029 {
		t.Fatalf("mini code at the web exchange: errcode %d", got)
	}
	// Expiry: 5 minutes.
	old := wxLogin(t, e, "emoji")
	e.clock.Advance(5*time.Minute + time.Second)
	if got := errcode(mini(old)); got != 42003 {
		t.Fatalf("expired code: errcode %d", got)
	}
	// A synthetic follower (load tests) has a mini program openid of its own.
	if m := mini(wxLogin(t, e, "follower-42")); errcode(m) != 0 || m["openid"] == "" || m["openid"] == e.api(t, "/sns/oauth2/access_token?"+url.Values{
		"appid": {e.sim.AppID()}, "secret": {e.sim.Secret()}, "code": {mustCode(t, e, "follower-42", "snsapi_base")}, "grant_type": {"authorization_code"}}.Encode())["openid"] {
		t.Fatalf("follower: %v", m)
	}
	// No unionid for the person without one.
	if m := mini(wxLogin(t, e, "nounion")); m["unionid"] != nil || m["openid"] != e.user(t, "nounion").MiniOpenID {
		t.Fatalf("nounion %v", m)
	}
}

// One person over the rate gets 45011, without using the code up; other
// people are not affected, and the next minute the person may log in again.
func TestJSCode2SessionRate(t *testing.T) {
	e := newEnv(t, func(o *wechatsim.Options) { o.MiniRate = 3 })
	mini := func(code string) map[string]any {
		return e.api(t, jscodePath(e, e.sim.MiniAppID(), e.sim.MiniSecret(), code))
	}
	for i := range 3 {
		if m := mini(wxLogin(t, e, "zhangsan")); errcode(m) != 0 {
			t.Fatalf("call %d: %v", i, m)
		}
	}
	code := wxLogin(t, e, "zhangsan")
	if got := errcode(mini(code)); got != 45011 {
		t.Fatalf("over the rate: errcode %d", got)
	}
	if m := mini(wxLogin(t, e, "emoji")); errcode(m) != 0 {
		t.Fatalf("another person: %v", m)
	}
	e.clock.Advance(time.Minute)
	if m := mini(code); errcode(m) != 0 {
		t.Fatalf("next minute, same code: %v", m)
	}
}

func TestWxLoginUnknownUser(t *testing.T) {
	e := newEnv(t, nil)
	req, _ := http.NewRequest(http.MethodPost, e.base+"/wx/login", nil)
	req.Header.Set("X-Sim-User", "nobody")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
}
