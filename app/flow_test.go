package app

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLoginHappyPathBothScopes(t *testing.T) {
	tests := []struct {
		name, scope, user string
		wantInBody        []string
		wantUserinfo      int
	}{
		{"userinfo shows nickname and avatar", "snsapi_userinfo", "zhangsan", []string{"张三", `class="avatar"`}, 1},
		{"emoji nickname intact", "snsapi_userinfo", "emoji", []string{"小明🐱🌸✨"}, 1},
		{"base scope is silent, no userinfo", "snsapi_base", "zhangsan", []string{"微信用户"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			in := e.start("a", map[string]string{"WECHAT_SCOPE": tt.scope}, Options{})
			b := newBrowser(t)
			p := e.login(b, in, tt.user)
			if p.Status != http.StatusFound || p.Location != "/profile" {
				t.Fatalf("callback: %d %q, want 302 /profile", p.Status, p.Location)
			}
			prof := b.get(in.URL + "/profile")
			if prof.Status != http.StatusOK {
				t.Fatalf("profile: %d", prof.Status)
			}
			for _, w := range tt.wantInBody {
				if !strings.Contains(prof.Body, w) {
					t.Errorf("profile lacks %q", w)
				}
			}
			st := e.Sim.Stats()
			if st.Exchanges != 1 || st.UserInfoCalls != tt.wantUserinfo {
				t.Errorf("WeChat calls: %d exchanges, %d userinfo; want 1, %d", st.Exchanges, st.UserInfoCalls, tt.wantUserinfo)
			}
		})
	}
}

func TestEntryRedirectsToExactAuthorizeURL(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	loc := newBrowser(t).entry(in, "/profile")
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	state := u.Query().Get("state")
	want := e.SimSrv.URL + "/connect/oauth2/authorize?appid=" + e.Sim.AppID() +
		"&redirect_uri=" + url.QueryEscape(in.URL+"/wechat/callback") +
		"&response_type=code&scope=snsapi_userinfo&state=" + state + "#wechat_redirect"
	if loc != want {
		t.Fatalf("authorize URL\n got %s\nwant %s", loc, want)
	}
	if len(state) != 32 {
		t.Fatalf("state %q: want 32 hex characters (128 bits)", state)
	}
}

func TestLoggedInEntryGoesStraightToNext(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	e.login(b, in, "zhangsan")
	p := b.get(in.URL + "/wechat/entry?next=/profile")
	if p.Status != http.StatusFound || p.Location != "/profile" {
		t.Fatalf("entry when logged in: %d %q", p.Status, p.Location)
	}
}

func TestDenialShowsCancelledPage(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	cb := e.authorize(b.entry(in, "/profile"), "zhangsan", "deny")
	if strings.Contains(cb, "code=") {
		t.Fatalf("denial callback carries a code: %s", cb)
	}
	p := b.get(cb)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "已取消登录") || !strings.Contains(p.Body, "/wechat/entry") {
		t.Fatalf("denial page: %d", p.Status)
	}
	if got := b.get(in.URL + "/profile"); got.Status != http.StatusFound {
		t.Fatalf("profile after denial: %d, want redirect to login", got.Status)
	}
	if n := e.Sim.Stats().Exchanges; n != 0 {
		t.Fatalf("%d exchanges after denial", n)
	}
}

func TestBadStateNeverCallsWeChat(t *testing.T) {
	clock := newClock()
	e := newEnv(t)
	in := e.start("a", nil, Options{Now: clock.Now})
	tests := []struct {
		name string
		run  func(t *testing.T) page
	}{
		{"missing state", func(t *testing.T) page {
			b := newBrowser(t)
			b.entry(in, "/profile")
			code, _ := e.Sim.IssueCode("zhangsan", "snsapi_userinfo")
			return b.get(in.URL + "/wechat/callback?code=" + code)
		}},
		{"malformed state", func(t *testing.T) page {
			b := newBrowser(t)
			b.entry(in, "/profile")
			code, _ := e.Sim.IssueCode("zhangsan", "snsapi_userinfo")
			return b.get(in.URL + "/wechat/callback?code=" + code + "&state=%3Cscript%3E")
		}},
		{"unknown state", func(t *testing.T) page {
			b := newBrowser(t)
			b.entry(in, "/profile")
			code, _ := e.Sim.IssueCode("zhangsan", "snsapi_userinfo")
			return b.get(in.URL + "/wechat/callback?code=" + code + "&state=0123456789abcdef0123456789abcdef")
		}},
		{"state of another browser", func(t *testing.T) page {
			victim, attacker := newBrowser(t), newBrowser(t)
			cb := e.authorize(victim.entry(in, "/profile"), "zhangsan", "allow")
			attacker.entry(in, "/profile")
			return attacker.get(cb)
		}},
		{"no cookie at all", func(t *testing.T) page {
			victim := newBrowser(t)
			cb := e.authorize(victim.entry(in, "/profile"), "zhangsan", "allow")
			return newBrowser(t).get(cb)
		}},
		{"expired state", func(t *testing.T) page {
			b := newBrowser(t)
			cb := e.authorize(b.entry(in, "/profile"), "zhangsan", "allow")
			clock.Advance(11 * time.Minute)
			defer clock.Advance(-11 * time.Minute)
			return b.get(cb)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.Sim.Reset()
			p := tt.run(t)
			if p.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", p.Status)
			}
			if !strings.Contains(p.Body, "/wechat/entry") {
				t.Fatal("400 page has no log-in-again link")
			}
			if p.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Fatal("callback page without Referrer-Policy: no-referrer")
			}
			if n := e.Sim.Stats().Exchanges; n != 0 {
				t.Fatalf("%d WeChat exchanges for a bad state; want 0", n)
			}
		})
	}
}

func TestLogoutKillsTheOldCookie(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	e.login(b, in, "zhangsan")
	u, _ := url.Parse(in.URL)
	old := b.jar.Cookies(u)
	if len(old) == 0 {
		t.Fatal("no session cookie after login")
	}
	if p := b.do(t.Context(), http.MethodPost, in.URL+"/logout", strings.NewReader("")); p.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.Status)
	}
	replay := newBrowser(t)
	replay.jar.SetCookies(u, old)
	if p := replay.get(in.URL + "/profile"); p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/wechat/entry") {
		t.Fatalf("old cookie after logout: %d %q; want redirect to login", p.Status, p.Location)
	}
}

func TestNextIsOnlyEverALocalPath(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	for _, next := range []string{"//evil.example", "/\\evil.example", "https://evil.example/", "/%2F%2Fevil.example", "javascript:alert(1)", "/profile?tab=1"} {
		t.Run(next, func(t *testing.T) {
			b := newBrowser(t)
			cb := e.authorize(b.entry(in, next), "zhangsan", "allow")
			p := b.get(cb)
			want := "/profile"
			if next == "/profile?tab=1" {
				want = next
			}
			if p.Status != http.StatusFound || p.Location != want {
				t.Fatalf("callback with next=%q: %d %q, want %q", next, p.Status, p.Location, want)
			}
		})
	}
}

func TestHostileNicknameIsEscaped(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	e.login(b, in, "xss")
	p := b.get(in.URL + "/profile")
	if strings.Contains(p.Body, "<script>alert") || strings.Contains(p.Body, "<b>City</b>") {
		t.Fatal("nickname or city rendered unescaped")
	}
	if !strings.Contains(p.Body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;Tom&#34;") {
		t.Fatalf("escaped nickname not found in page")
	}
}

func TestSnapshotUserGetsOpenFullPage(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	p := e.login(b, in, "snapshot")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "使用完整服务") {
		t.Fatalf("snapshot user: %d", p.Status)
	}
	var n int64
	if err := in.App.DB.Gorm.Raw("SELECT count(*) FROM users").Scan(&n).Error; err != nil || n != 0 {
		t.Fatalf("users after snapshot login: %d (%v), want 0", n, err)
	}
}

func TestReplayedCallbackAfterLoginStaysLoggedIn(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	cb := e.authorize(b.entry(in, "/profile"), "zhangsan", "allow")
	if p := b.get(cb); p.Status != http.StatusFound {
		t.Fatalf("first: %d", p.Status)
	}
	// The back button lands on the callback URL again, with the new cookie.
	if p := b.get(cb); p.Status != http.StatusFound || p.Location != "/profile" {
		t.Fatalf("replay: %d %q", p.Status, p.Location)
	}
	if n := e.Sim.Stats().Exchanges; n != 1 {
		t.Fatalf("%d exchanges, want 1", n)
	}
}

func TestSimulatorModeOnSQLite(t *testing.T) {
	// What `make run` does: no DATABASE_URL, no WECHAT_APPID.
	srv := newUnstarted()
	base := "http://" + srv.Listener.Addr().String()
	dir := t.TempDir()
	cfg := loadConfig(t, map[string]string{"BASE_URL": base, "DATA_DIR": dir, "SIM_DOUBLE_CALLBACK": "off"})
	if !cfg.Simulator {
		t.Fatal("no WECHAT_APPID should mean simulator mode")
	}
	a, err := New(t.Context(), cfg, Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	if a.DB.Dialect != "sqlite" {
		t.Fatalf("dialect %s, want sqlite", a.DB.Dialect)
	}
	srv.Config.Handler = a.Handler
	srv.Start()
	t.Cleanup(srv.Close)
	b := newBrowser(t)
	loc := b.entry(&instance{URL: base}, "/profile")
	if !strings.HasPrefix(loc, base+"/_sim/connect/oauth2/authorize?appid=") || !strings.HasSuffix(loc, "#wechat_redirect") {
		t.Fatalf("entry in simulator mode: %s", loc)
	}
	// WECHAT_SCOPE=auto (the default): the first login is silent, no
	// consent page.
	if !strings.Contains(loc, "scope=snsapi_base") {
		t.Fatalf("the default entry is not silent: %s", loc)
	}
	authorize := func(loc string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, strings.TrimSuffix(loc, "#wechat_redirect"), nil)
		req.Header.Set("X-Sim-User", "emoji")
		res, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		cb := b.get(res.Header.Get("Location"))
		if cb.Status != http.StatusFound || cb.Location != "/profile" {
			t.Fatalf("callback: %d %q", cb.Status, cb.Location)
		}
	}
	authorize(loc)
	// Silent: no nickname yet, and the profile offers to share it.
	p := b.get(base + "/profile")
	if !strings.Contains(p.Body, "微信用户") || !strings.Contains(p.Body, "分享昵称和头像") || strings.Contains(p.Body, "小明🐱🌸✨") {
		t.Fatal("after a silent login the profile does not offer to share the nickname")
	}
	// The tap to share asks WeChat for the profile (consent), once; it is
	// not counted as a login.
	loc = b.entry(&instance{URL: base}, "/profile")
	if loc != "/profile" {
		t.Fatalf("a logged-in entry without refresh went to %q, want the page", loc)
	}
	share := b.get(base + "/wechat/entry?next=/profile&scope=snsapi_userinfo&refresh=1")
	if share.Status != http.StatusFound || !strings.Contains(share.Location, "scope=snsapi_userinfo") {
		t.Fatalf("share: %d %q", share.Status, share.Location)
	}
	authorize(share.Location)
	if p := b.get(base + "/profile"); !strings.Contains(p.Body, "小明🐱🌸✨") || !strings.Contains(p.Body, "刷新昵称和头像") {
		t.Fatal("profile lacks the shared emoji nickname")
	}
	u, err := a.DB.UserByOpenID(t.Context(), strings.TrimSpace(openIDOf(t, a, "小明🐱🌸✨")))
	if err != nil || u.LoginCount != 1 || u.ProfileUpdatedAt == nil {
		t.Fatalf("after sharing: %+v %v; want 1 login and the profile's time", u, err)
	}
	// Later logins are silent again and keep the nickname.
	if p := postForm(b, base+"/logout", url.Values{}, nil); p.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.Status)
	}
	loc = b.entry(&instance{URL: base}, "/profile")
	if !strings.Contains(loc, "scope=snsapi_base") {
		t.Fatalf("a later login is not silent: %s", loc)
	}
	authorize(loc)
	if p := b.get(base + "/profile"); !strings.Contains(p.Body, "小明🐱🌸✨") {
		t.Fatal("a silent login lost the shared nickname")
	}
	if u, _ := a.DB.UserByID(t.Context(), u.ID); u.LoginCount != 2 {
		t.Fatalf("login count %d after two logins and one share, want 2", u.LoginCount)
	}
}

// openIDOf finds a user's openid by nickname.
func openIDOf(t *testing.T, a *App, nickname string) string {
	t.Helper()
	var openid string
	if err := a.DB.Gorm.Raw("SELECT openid FROM users WHERE nickname = ?", nickname).Scan(&openid).Error; err != nil || openid == "" {
		t.Fatalf("no user %q: %v", nickname, err)
	}
	return openid
}

// clock is a settable clock shared by sessions, handlers and the gate.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func newClock() *clock { return &clock{} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

func TestMPVerifyFileIsServed(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", map[string]string{"WECHAT_MP_VERIFY": "AbC123"}, Options{})
	b := newBrowser(t)
	if p := b.get(in.URL + "/MP_verify_AbC123.txt"); p.Status != http.StatusOK || p.Body != "AbC123" {
		t.Fatalf("verification file: %d %q", p.Status, p.Body)
	}
	if p := b.get(in.URL + "/MP_verify_other.txt"); p.Status != http.StatusNotFound {
		t.Fatalf("unknown verification file: %d", p.Status)
	}
}
