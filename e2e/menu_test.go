package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"
)

// An operator publishes the menu from the admin pages; a person opens the
// simulator's chat window on a 375 px phone, taps the menu button and lands
// logged in on the profile.
func TestPublishMenuThenTapItInTheChatWindow(t *testing.T) {
	s := startServer(t, simulator)
	hash, err := bcrypt.GenerateFromPassword([]byte("Tea-Kettle-Orbit-42"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.DB.CreateAdmin(context.Background(), "ops", string(hash)); err != nil {
		t.Fatal(err)
	}

	ops := newBrowser(t, desktopPC)
	ops.open(s.URL+"/admin/login", "/admin/login")
	ops.run(chromedp.SetValue(chromedp.CSS(`input[name=username]`), "ops"),
		chromedp.SetValue(chromedp.CSS(`input[name=password]`), "Tea-Kettle-Orbit-42"))
	ops.tap(`form[action="/admin/login"] button[type=submit]`, "/admin")
	ops.open(s.URL+"/admin/menu", "/admin/menu")
	// The editor starts with one view button into wxlogin's profile; make
	// it a two-button menu with a sub-menu.
	ops.run(chromedp.SetValue(chromedp.CSS(`input[name=b0_name]`), "我的资料"),
		chromedp.SetValue(chromedp.CSS(`select[name=b1_type]`), "sub"),
		chromedp.SetValue(chromedp.CSS(`input[name=b1_name]`), "更多"),
		chromedp.SetValue(chromedp.CSS(`input[name=b1s0_name]`), "首页"),
		chromedp.SetValue(chromedp.CSS(`select[name=b1s0_type]`), "view"),
		chromedp.SetValue(chromedp.CSS(`input[name=b1s0_url]`), s.URL+"/wechat/entry?next=/"))
	ops.shot("menu-editor")
	ops.tap(`button[value=preview]`, "/admin/menu")
	if got := ops.text("#menu-preview"); !strings.Contains(got, "我的资料") || !strings.Contains(got, "更多") {
		t.Fatalf("preview %q", got)
	}
	ops.shot("menu-preview")
	ops.tap(`#confirm-publish button[value=publish]`, "/admin/menu")
	if got := ops.text(".flash"); !strings.Contains(got, "菜单已发布") {
		t.Fatalf("after publishing: %q", got)
	}
	ops.checkClean()
	if m := s.Sim.Menu(); len(m) != 2 || m[0].Name != "我的资料" || len(m[1].SubButtons) != 1 {
		t.Fatalf("published %+v", m)
	}

	phone := newBrowser(t, wechatPhone)
	phone.open(s.URL+"/_sim/chat", "/_sim/chat")
	if got := phone.text("#chat-menu"); !strings.Contains(got, "我的资料") {
		t.Fatalf("chat window menu %q", got)
	}
	phone.shot("chat-window")
	phone.checkPage("chat-window")
	// The follow switch pushes subscribe; the menu tap pushes VIEW, then
	// opens the entry.
	phone.tap(`#chat-follow-btn`, "/_sim/chat")
	if got := phone.text("#chat-follow"); !strings.Contains(got, "已关注") {
		t.Fatalf("after following the chat window shows %q", got)
	}
	phone.checkPage("chat-window-followed")
	phone.tap(`#chat-menu .chat-view`, consentPath)
	phone.choose("user", "zhangsan")
	phone.choose("double", "off")
	phone.tap(`button[value="allow"]`, "/profile")
	if got := phone.text("#nickname"); got != "张三" {
		t.Fatalf("nickname %q, want 张三", got)
	}
	var openid string
	for _, u := range s.Sim.Users() {
		if u.Key == "zhangsan" {
			openid = u.OpenID
		}
	}
	if fs, err := s.App.DB.FollowOf(context.Background(), openid); err != nil || !fs.Followed {
		t.Errorf("follow status after the chat window's switch: %+v %v", fs, err)
	}
	if taps, err := s.App.DB.RecentTaps(context.Background(), openid, 5); err != nil || len(taps) != 1 || taps[0].EventKey != s.Sim.Menu()[0].URL {
		t.Errorf("VIEW pushed by the chat window's tap: %+v %v", taps, err)
	}
	phone.checkClean()
}
