package wechatsim_test

import (
	"net/http"
	"net/url"
	"testing"
)

// Load tests log in as many different people: X-Sim-User "follower-N" is
// a follower of its own, through the code exchange, userinfo and refresh.
func TestSyntheticFollowers(t *testing.T) {
	e := newEnv(t, nil)
	login := func(t *testing.T, key string) map[string]any {
		t.Helper()
		resp, _ := get(t, e.authorizeURL("snsapi_userinfo", "st"), "X-Sim-User", key)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("authorize as %s: status %d", key, resp.StatusCode)
		}
		m := e.exchange(t, callbackParams(t, resp.Header.Get("Location")).Get("code"))
		if errcode(m) != 0 {
			t.Fatalf("exchange as %s: %v", key, m)
		}
		return m
	}
	a, b, again := login(t, "follower-1"), login(t, "follower-2"), login(t, "follower-1")
	if a["openid"] == b["openid"] || a["unionid"] == b["unionid"] {
		t.Fatalf("two followers share an identity: %v %v", a, b)
	}
	if a["openid"] != again["openid"] {
		t.Fatal("a follower's openid changed between logins")
	}
	for _, u := range []string{"zhangsan", "emoji", "xss", "noavatar", "snapshot", "english", "nounion"} {
		if e.user(t, u).OpenID == a["openid"] {
			t.Fatalf("follower-1 has the openid of test user %s", u)
		}
	}
	q := url.Values{"access_token": {a["access_token"].(string)}, "openid": {a["openid"].(string)}, "lang": {"zh_CN"}}
	info := e.api(t, "/sns/userinfo?"+q.Encode())
	if info["openid"] != a["openid"] || info["nickname"] != "粉丝1" || info["unionid"] != a["unionid"] {
		t.Fatalf("userinfo = %v", info)
	}
	r := url.Values{"appid": {e.sim.AppID()}, "grant_type": {"refresh_token"}, "refresh_token": {a["refresh_token"].(string)}}
	if m := e.api(t, "/sns/oauth2/refresh_token?"+r.Encode()); m["openid"] != a["openid"] {
		t.Fatalf("refresh = %v", m)
	}

	for _, bad := range []string{"follower-", "follower-x", "follower-12345678", "follower--1", "follower"} {
		if resp, _ := get(t, e.authorizeURL("snsapi_base", "st"), "X-Sim-User", bad); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("X-Sim-User %q: status %d, want 400", bad, resp.StatusCode)
		}
	}
	if n := len(e.sim.Users()); n != 7 {
		t.Fatalf("Users() lists %d users; followers must not be listed", n)
	}
}
