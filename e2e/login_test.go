package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A person in WeChat opens the landing page, taps 微信登录, picks a user on
// the simulator's consent page, taps 允许 and lands on the profile; then
// refreshes it through WeChat again and logs out.
func TestLoginThroughConsentPage(t *testing.T) {
	s := startServer(t, simulator)
	b := newBrowser(t, wechatPhone)

	b.open(s.URL+"/", "/")
	if got := b.text("h1"); got != "wxlogin" {
		t.Fatalf("landing h1 %q", got)
	}
	b.shot("landing")
	b.checkPage("landing")
	b.checkDark("landing")

	b.tap(`a.btn-primary[href^="/wechat/entry"]`, consentPath)
	if got := b.text("h1"); got != "获取你的昵称、头像" {
		t.Fatalf("consent h1 %q", got)
	}
	if eval[int](b, `document.querySelectorAll('.notice').length`) != 0 {
		t.Error("the consent page tells a WeChat user to open WeChat")
	}
	b.shot("consent")
	b.checkPage("consent")
	b.checkDark("consent")

	b.choose("user", "zhangsan")
	b.choose("double", "off")
	b.tap(`button[value="allow"]`, "/profile")
	if st := b.lastStatus(); st != http.StatusOK {
		t.Fatalf("profile status %d", st)
	}
	if got := b.text("#nickname"); got != "张三" {
		t.Fatalf("nickname %q, want 张三", got)
	}
	cells := b.text("main")
	for _, want := range []string{"已分享", "首次登录", "最近登录", "刷新昵称和头像", "退出登录"} {
		if !strings.Contains(cells, want) {
			t.Errorf("profile lacks %q", want)
		}
	}
	if !eval[bool](b, `(() => { const i = document.querySelector('img.avatar'); return !!i && i.complete && i.naturalWidth > 0 })()`) {
		t.Error("the avatar did not load")
	}
	b.shot("profile")
	b.checkPage("profile")
	b.checkDark("profile")

	if cbs := s.callbacks.all(); len(cbs) != 1 || cbs[0].Status != http.StatusFound || cbs[0].ClientGone {
		t.Fatalf("callback requests %+v, want one 302", cbs)
	}
	if n := s.Sim.Stats().Exchanges; n != 1 {
		t.Fatalf("%d code exchanges, want 1", n)
	}

	// The landing page now knows the person.
	b.open(s.URL+"/", "/")
	if got := b.text("main"); !strings.Contains(got, "张三") || !strings.Contains(got, "查看我的资料") {
		t.Errorf("landing when logged in: %q", got)
	}
	b.shot("landing-logged-in")

	// 刷新资料 goes through WeChat's consent again and comes back.
	b.open(s.URL+"/profile", "/profile")
	b.tap(`a[href*="refresh=1"]`, consentPath)
	b.tap(`button[value="allow"]`, "/profile")
	if got := b.text("#nickname"); got != "张三" {
		t.Fatalf("after refresh: nickname %q", got)
	}
	if n := s.Sim.Stats().Exchanges; n != 2 {
		t.Fatalf("%d code exchanges after a refresh, want 2", n)
	}

	// 退出登录 ends the session: the landing page offers login again and the
	// profile asks WeChat again.
	b.tap(`form[action="/logout"] button`, "/")
	if got := b.text(".actions"); got != "微信登录" {
		t.Errorf("after logout the landing page shows %q", got)
	}
	b.open(s.URL+"/profile", consentPath)
	b.checkClean()
}

// Android WeChat opens the callback, then ~20 ms later opens it again
// (variant A: the same code; B: a second code), and the browser aborts the
// first navigation. In a real browser: the server must see the first
// request's client go away, the person must still end on the profile, and
// no code may reach WeChat twice.
func TestAndroidDoubleCallbackInRealBrowser(t *testing.T) {
	for _, variant := range []string{"A", "B"} {
		t.Run(variant, func(t *testing.T) {
			s := startServer(t, simulator)
			b := newBrowser(t, wechatPhone)
			b.allowAbort(func(u *url.URL) bool { return u.Path == "/wechat/callback" })

			b.open(s.URL+"/wechat/entry?next=/profile", consentPath)
			b.choose("user", "zhangsan")
			b.choose("double", variant)
			// The first callback's exchange waits until the browser has
			// dropped that request, so the abort happens mid-exchange.
			s.holdExchangeUntilClientGone()
			b.tap(`button[value="allow"]`, "/profile")

			if got := b.text("#nickname"); got != "张三" {
				t.Fatalf("nickname %q, want 张三", got)
			}
			b.shot("double-" + variant + "-profile")

			cbs := s.callbacks.all()
			if len(cbs) != 2 {
				t.Fatalf("the server saw %d callback requests, want 2: %+v", len(cbs), cbs)
			}
			// What the app writes to a dropped connection reaches nobody;
			// what matters is that the browser really went away.
			if !cbs[0].ClientGone {
				t.Errorf("first callback: the browser did not abort it (status %d)", cbs[0].Status)
			}
			if cbs[1].ClientGone || cbs[1].Status != http.StatusFound {
				t.Errorf("second callback: client gone %v, status %d; want the 302 to the profile", cbs[1].ClientGone, cbs[1].Status)
			}
			if by := s.wx.released(); by != "client gone" {
				t.Errorf("the held exchange was released by %q, want the browser's abort", by)
			}
			if a := b.abortedNavigations(); len(a) != 1 {
				t.Errorf("the browser reported %d aborted callback navigations, want 1: %q", len(a), a)
			}
			sameCode := cbs[0].Code == cbs[1].Code
			if want := variant == "A"; sameCode != want {
				t.Errorf("variant %s: same code twice = %v", variant, sameCode)
			}
			for i, cb := range cbs {
				if n := s.Sim.ExchangeCount(cb.Code); n > 1 {
					t.Errorf("callback %d's code was exchanged %d times", i+1, n)
				}
			}
			// Variant A: one code, one exchange. Variant B: each code once —
			// the second code is WeChat's to vouch for, never inherited.
			want := map[string]int{"A": 1, "B": 2}[variant]
			if n := s.Sim.Stats().Exchanges; n != want {
				t.Errorf("%d exchanges with WeChat, want %d", n, want)
			}
			b.checkClean()
		})
	}
}
