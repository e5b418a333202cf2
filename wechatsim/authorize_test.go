package wechatsim_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"wxlogin/wechatsim"
)

func TestAuthorizeValidation(t *testing.T) {
	e := newEnv(t, nil)
	good := url.Values{
		"appid": {e.sim.AppID()}, "redirect_uri": {callback}, "response_type": {"code"},
		"scope": {"snsapi_base"}, "state": {"abc"},
	}
	tests := []struct {
		name, key, value string
		wantErr          string
	}{
		{"wrong appid", "appid", "wx0000000000000bad", "40013"},
		{"missing appid", "appid", "", "10012"},
		{"relative redirect", "redirect_uri", "/wechat/callback", "10003"},
		{"javascript redirect", "redirect_uri", "javascript:alert(1)", "10003"},
		{"missing redirect", "redirect_uri", "", "10011"},
		{"response_type token", "response_type", "token", "10014"},
		{"unknown scope", "scope", "snsapi_login", "10005"},
		{"state with dash", "state", "ab-cd", "10013"},
		{"state too long", "state", strings.Repeat("a", 129), "10013"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := url.Values{}
			for k, v := range good {
				q[k] = v
			}
			q.Set(tt.key, tt.value)
			resp, body := get(t, e.base+"/connect/oauth2/authorize?"+q.Encode(), "X-Sim-User", "zhangsan")
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, tt.wantErr) {
				t.Fatalf("status %d, body %q", resp.StatusCode, body)
			}
			if resp.Header.Get("Location") != "" {
				t.Fatal("redirected despite invalid parameters")
			}
		})
	}
	t.Run("128-byte state is fine", func(t *testing.T) {
		q := url.Values{}
		for k, v := range good {
			q[k] = v
		}
		q.Set("state", strings.Repeat("aZ9", 42)+"ab")
		resp, _ := get(t, e.base+"/connect/oauth2/authorize?"+q.Encode())
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

func TestHeadlessAuthorize(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		scope, user, action string
		allow               bool
	}{
		{"snsapi_base", "zhangsan", "", true},
		{"snsapi_base", "emoji", "allow", true},
		{"snsapi_base", "xss", "deny", false},
		{"snsapi_userinfo", "english", "allow", true},
		{"snsapi_userinfo", "nounion", "", true},
		{"snsapi_userinfo", "zhangsan", "deny", false},
	}
	for _, tt := range tests {
		t.Run(tt.scope+"/"+tt.user+"/"+tt.action, func(t *testing.T) {
			hdr := []string{"X-Sim-User", tt.user}
			if tt.action != "" {
				hdr = append(hdr, "X-Sim-Action", tt.action)
			}
			resp, _ := get(t, e.authorizeURL(tt.scope, "st4te"), hdr...)
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("status %d", resp.StatusCode)
			}
			q := callbackParams(t, resp.Header.Get("Location"))
			if q.Get("state") != "st4te" {
				t.Fatalf("state = %q", q.Get("state"))
			}
			if !tt.allow {
				if q.Has("code") {
					t.Fatal("denial carries a code")
				}
				return
			}
			m := e.exchange(t, q.Get("code"))
			if m["openid"] != e.user(t, tt.user).OpenID || m["scope"] != tt.scope {
				t.Fatalf("exchange = %v", m)
			}
		})
	}
	t.Run("user by openid", func(t *testing.T) {
		u := e.user(t, "english")
		resp, _ := get(t, e.authorizeURL("snsapi_base", "s"), "X-Sim-User", u.OpenID)
		m := e.exchange(t, callbackParams(t, resp.Header.Get("Location")).Get("code"))
		if m["openid"] != u.OpenID {
			t.Fatalf("exchange = %v", m)
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		resp, _ := get(t, e.authorizeURL("snsapi_base", "s"), "X-Sim-User", "nobody")
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	t.Run("headless double callback", func(t *testing.T) {
		for _, mode := range []string{"A", "B"} {
			resp, _ := get(t, e.authorizeURL("snsapi_userinfo", "dbl"), "X-Sim-User", "zhangsan", "X-Sim-Double", mode)
			q1 := callbackParams(t, resp.Header.Get("Location"))
			q2 := callbackParams(t, resp.Header.Get("X-Sim-Second-Location"))
			if q1.Get("state") != "dbl" || q2.Get("state") != "dbl" {
				t.Fatal("states differ")
			}
			if same := q1.Get("code") == q2.Get("code"); same != (mode == "A") {
				t.Fatalf("mode %s: codes %q %q", mode, q1.Get("code"), q2.Get("code"))
			}
		}
	})
}

// snsapi_base is silent: a 302 for the default user, or for the user last
// chosen on the consent page in this browser.
func TestSilentBase(t *testing.T) {
	e := newEnv(t, nil)
	resp, _ := get(t, e.authorizeURL("snsapi_base", "s1"), "User-Agent", "Mozilla/5.0 MicroMessenger/8.0.50")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("status %d", resp.StatusCode)
	}
	m := e.exchange(t, callbackParams(t, resp.Header.Get("Location")).Get("code"))
	if m["openid"] != e.sim.Users()[0].OpenID {
		t.Fatalf("default user: %v", m)
	}

	req, _ := http.NewRequest(http.MethodGet, e.authorizeURL("snsapi_base", "s2"), nil)
	req.AddCookie(&http.Cookie{Name: "wxsim_user", Value: "emoji"})
	resp, _ = do(t, req)
	m = e.exchange(t, callbackParams(t, resp.Header.Get("Location")).Get("code"))
	if m["openid"] != e.user(t, "emoji").OpenID {
		t.Fatalf("remembered user: %v", m)
	}
}

func TestConsentPage(t *testing.T) {
	e := newEnv(t, func(o *wechatsim.Options) { o.DoubleCallback = "B" })
	for _, ua := range []string{"Mozilla/5.0 (Linux; Android 14) MicroMessenger/8.0.50.2701", "Mozilla/5.0 Firefox/130.0"} {
		inWeChat := strings.Contains(ua, "MicroMessenger")
		resp, body := get(t, e.authorizeURL("snsapi_userinfo", "abc"), "User-Agent", ua)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Fatalf("Content-Type %q", ct)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Fatalf("CSP %q", csp)
		}
		if hasNotice := strings.Contains(body, "请在微信客户端打开链接"); hasNotice == inWeChat {
			t.Fatalf("UA %q: notice shown = %v", ua, hasNotice)
		}
		for _, want := range []string{
			`action="/_sim/connect/oauth2/authorize/confirm"`,
			`name="redirect_uri" value="` + callback + `"`,
			`name="state" value="abc"`,
			`name="scope" value="snsapi_userinfo"`,
			`value="zhangsan" checked`,
			`value="B" checked`,
			`src="/_sim/avatar/emoji/64"`,
			`href="/_sim/static/sim.css"`,
			"小明🐱🌸✨",
			"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;Tom&#34; &#39;s",
			"&lt;b&gt;City&lt;/b&gt;",
			">允许<", ">拒绝<",
		} {
			if !strings.Contains(body, want) {
				t.Fatalf("consent page lacks %q", want)
			}
		}
		checkStrictCSP(t, body)
	}
}

// checkStrictCSP fails on anything that default-src 'self' would block:
// inline scripts, inline styles, event handlers, external resources.
// (Links to other origins are navigations, which CSP leaves alone.)
func checkStrictCSP(t *testing.T, body string) {
	t.Helper()
	scripts := regexp.MustCompile(`<script[^>]*>[^<]*</script>`).FindAllString(body, -1)
	if strings.Count(body, "<script") != len(scripts) {
		t.Fatal("unparsable script element")
	}
	for _, sc := range scripts {
		if !regexp.MustCompile(`^<script src="/[^"]*"></script>$`).MatchString(sc) {
			t.Fatalf("script is not a same-origin file: %q", sc)
		}
	}
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`<style`),
		regexp.MustCompile(`\sstyle=`),
		regexp.MustCompile(`\son[a-z]+=`),
		regexp.MustCompile(`\ssrc="(?:[a-z]+:|//)`),
		regexp.MustCompile(`<link[^>]*href="(?:[a-z]+:|//)`),
	} {
		if m := re.FindString(body); m != "" {
			t.Fatalf("page violates a strict CSP: %q", m)
		}
	}
}

func TestConfirm(t *testing.T) {
	e := newEnv(t, nil)
	form := func(user, action, double string) url.Values {
		return url.Values{
			"appid": {e.sim.AppID()}, "redirect_uri": {callback}, "response_type": {"code"},
			"scope": {"snsapi_userinfo"}, "state": {"xyz"}, "user": {user}, "action": {action}, "double": {double},
		}
	}
	confirm := e.base + "/connect/oauth2/authorize/confirm"

	t.Run("allow", func(t *testing.T) {
		resp, _ := post(t, confirm, form("emoji", "allow", "off"))
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
		q := callbackParams(t, resp.Header.Get("Location"))
		if q.Get("state") != "xyz" {
			t.Fatalf("state %q", q.Get("state"))
		}
		m := e.exchange(t, q.Get("code"))
		if m["openid"] != e.user(t, "emoji").OpenID || m["unionid"] != e.user(t, "emoji").UnionID {
			t.Fatalf("exchange %v", m)
		}
		var remembered bool
		for _, c := range resp.Cookies() {
			remembered = remembered || (c.Name == "wxsim_user" && c.Value == "emoji" && c.Path == "/_sim/")
		}
		if !remembered {
			t.Fatalf("choice not remembered: %v", resp.Cookies())
		}
	})
	t.Run("deny", func(t *testing.T) {
		resp, _ := post(t, confirm, form("emoji", "deny", "off"))
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("status %d", resp.StatusCode)
		}
		if loc := resp.Header.Get("Location"); loc != callback+"?state=xyz" {
			t.Fatalf("Location %q", loc)
		}
	})
	t.Run("tampered hidden fields", func(t *testing.T) {
		f := form("emoji", "allow", "off")
		f.Set("appid", "wx0000000000000bad")
		resp, _ := post(t, confirm, f)
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
	for _, mode := range []string{"A", "B"} {
		t.Run("double callback "+mode, func(t *testing.T) {
			e.sim.Reset()
			resp, body := post(t, confirm, form("zhangsan", "allow", mode))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			checkStrictCSP(t, body)
			if !strings.Contains(body, `<script src="/_sim/static/double.js"></script>`) || !strings.Contains(body, "<noscript>") {
				t.Fatal("double-callback page lacks its script or fallback")
			}
			first, second := attr(t, body, "data-first"), attr(t, body, "data-second")
			q1, q2 := callbackParams(t, first), callbackParams(t, second)
			if q1.Get("state") != "xyz" || q2.Get("state") != "xyz" {
				t.Fatal("double callback changed the state")
			}
			for _, u := range []string{first, second} {
				if !strings.Contains(body, `href="`+strings.ReplaceAll(u, "&", "&amp;")+`"`) {
					t.Fatalf("no fallback link to %s", u)
				}
			}
			if mode == "A" {
				if first != second {
					t.Fatalf("A: %s != %s", first, second)
				}
				return
			}
			if q1.Get("code") == q2.Get("code") {
				t.Fatal("B: the two codes are equal")
			}
			for _, c := range []string{q1.Get("code"), q2.Get("code")} {
				if m := e.exchange(t, c); m["openid"] != e.user(t, "zhangsan").OpenID {
					t.Fatalf("B code %s: %v", c, m)
				}
			}
			if st := e.sim.Stats(); st.CodesIssued != 2 {
				t.Fatalf("codes issued %d", st.CodesIssued)
			}
		})
	}
}

var attrRE = map[string]*regexp.Regexp{}

// attr returns the unescaped value of the first attribute named name.
func attr(t *testing.T, body, name string) string {
	t.Helper()
	re, ok := attrRE[name]
	if !ok {
		re = regexp.MustCompile(name + `="([^"]*)"`)
		attrRE[name] = re
	}
	m := re.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no %s attribute", name)
	}
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`).Replace(m[1])
}

func TestStaticAndAvatars(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		path, wantType string
		wantStatus     int
		contains       string
	}{
		{"/static/double.js", "text/javascript", 200, "data-second"},
		{"/static/sim.css", "text/css", 200, "#07c160"},
		{"/avatar/zhangsan/132", "image/svg+xml", 200, "张"},
		{"/avatar/emoji/0", "image/svg+xml", 200, `width="640"`},
		{"/avatar/xss/46", "image/svg+xml", 200, "&lt;"},
		{"/avatar/noavatar/132", "", 404, ""},
		{"/avatar/zhangsan/100", "", 404, ""},
		{"/avatar/nobody/132", "", 404, ""},
	}
	for _, tt := range tests {
		resp, body := get(t, e.base+tt.path)
		if resp.StatusCode != tt.wantStatus || !strings.HasPrefix(resp.Header.Get("Content-Type"), tt.wantType) || !strings.Contains(body, tt.contains) {
			t.Errorf("%s: status %d, type %q, body %.80q", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}
	// Users report absolute avatar URLs on PublicURL, "" without avatar.
	for _, u := range e.sim.Users() {
		want := e.base + "/avatar/" + u.Key + "/132"
		if u.Key == "noavatar" {
			want = ""
		}
		if u.HeadImgURL != want {
			t.Errorf("%s HeadImgURL %q, want %q", u.Key, u.HeadImgURL, want)
		}
	}
}

func TestPrefixMounting(t *testing.T) {
	e := newEnv(t, nil)
	resp, _ := get(t, e.srv.URL+"/sns/auth?access_token=x&openid=y")
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("path outside the prefix: status %d", resp.StatusCode)
	}
	resp, _ = get(t, e.base+"/sns/auth?access_token=x&openid=y")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
}
