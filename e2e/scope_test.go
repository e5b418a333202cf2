package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// WECHAT_SCOPE=auto, as a person in WeChat meets it: the first visit from
// the menu logs in silently (no consent page, nothing asked of WeChat but
// the openid); tapping 分享昵称和头像 shows the consent page once; later
// visits are silent again and keep the nickname. Sharing is not a login.
func TestScopeAutoFirstVisitSilentShareOnce(t *testing.T) {
	s := startServerWith(t, simulator, map[string]string{"WECHAT_SCOPE": "auto", "SITE_NAME": "小店服务号"})
	b := newBrowser(t, wechatPhone)

	b.open(s.URL+"/", "/")
	if got := b.text("h1"); got != "小店服务号" {
		t.Errorf("landing h1 %q, want SITE_NAME", got)
	}
	if title := eval[string](b, `document.title`); !strings.HasSuffix(title, "· 小店服务号") {
		t.Errorf("title %q does not end with SITE_NAME", title)
	}
	if main := b.text("main"); strings.Contains(main, "性别") || strings.Contains(main, "地区") || !strings.Contains(main, "不弹授权页") {
		t.Errorf("the landing page promises what WeChat does not give, or not that login is silent: %q", main)
	}
	b.tap(`a.btn-primary[href^="/wechat/entry"]`, "/profile")
	if got := b.text("#nickname"); got != "微信用户" {
		t.Fatalf("after a silent login the nickname is %q, want 微信用户", got)
	}
	if st := s.Sim.Stats(); st.UserInfoCalls != 0 {
		t.Fatalf("a silent login called userinfo %d times", st.UserInfoCalls)
	}
	if got := b.text("#share-profile"); got != "分享昵称和头像" {
		t.Fatalf("the profile offers %q, want 分享昵称和头像", got)
	}
	b.shot("profile-silent")
	b.checkPage("profile-silent")

	// The person's own tap: WeChat's consent page, once.
	b.tap(`#share-profile`, consentPath)
	b.choose("user", "zhangsan")
	b.choose("double", "off")
	b.tap(`button[value="allow"]`, "/profile")
	if got := b.text("#nickname"); got != "张三" {
		t.Fatalf("after sharing: nickname %q, want 张三", got)
	}
	if got := b.text("#share-profile"); got != "刷新昵称和头像" {
		t.Errorf("after sharing the button says %q", got)
	}

	// Later visits: silent, the nickname kept.
	b.tap(`form[action="/logout"] button`, "/")
	b.tap(`a.btn-primary[href^="/wechat/entry"]`, "/profile")
	if got := b.text("#nickname"); got != "张三" {
		t.Fatalf("a later silent login shows %q, want the shared 张三", got)
	}
	if st := s.Sim.Stats(); st.UserInfoCalls != 1 {
		t.Errorf("userinfo called %d times, want once (the share)", st.UserInfoCalls)
	}
	if n := s.Sim.Stats().ByEndpoint["authorize"]; n != 3 {
		t.Errorf("%d trips to WeChat's authorize page, want 3", n)
	}
	var count int
	if err := s.App.DB.Gorm.WithContext(context.Background()).Raw("SELECT login_count FROM users").Scan(&count).Error; err != nil || count != 2 {
		t.Errorf("login count %d (%v), want 2: sharing is not a login", count, err)
	}
	if st := b.lastStatus(); st != http.StatusOK {
		t.Errorf("profile status %d", st)
	}
	b.checkClean()
}
