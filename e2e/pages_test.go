package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"wxlogin/wechatsim"
)

// startLogin opens the entry URL and stops on the simulator's consent page
// with user picked and no double callback.
func startLogin(s *server, b *browser, user string) {
	b.t.Helper()
	b.open(s.URL+"/wechat/entry?next=/profile", consentPath)
	b.choose("user", user)
	b.choose("double", "off")
}

// expectMessage checks a message page: its status, title and that its
// buttons are there.
func expectMessage(t *testing.T, b *browser, status int64, title string) {
	t.Helper()
	if st := b.lastStatus(); st != status {
		t.Errorf("status %d, want %d", st, status)
	}
	if got := b.text("#msg-title"); got != title {
		t.Fatalf("page title %q, want %q", got, title)
	}
	if got := b.text(".actions"); !strings.Contains(got, "返回首页") {
		t.Errorf("no way home on the page: %q", got)
	}
}

func TestDenialShowsCancelledPageWithRetry(t *testing.T) {
	s := startServer(t, simulator)
	b := newBrowser(t, wechatPhone)
	startLogin(s, b, "zhangsan")
	b.tap(`button[value="deny"]`, "/wechat/callback")
	expectMessage(t, b, http.StatusOK, "已取消登录")
	b.shot("cancelled")
	b.checkPage("cancelled")
	b.checkDark("cancelled")
	if n := s.Sim.Stats().Exchanges; n != 0 {
		t.Errorf("%d exchanges after a denial, want 0", n)
	}
	// 重新登录 starts over and can succeed.
	b.tap(`a.btn-primary`, consentPath)
	b.tap(`button[value="allow"]`, "/profile")
	if got := b.text("#nickname"); got != "张三" {
		t.Fatalf("after retrying: nickname %q", got)
	}
	b.checkClean()
}

func TestExpiredStateShowsRetryPage(t *testing.T) {
	s := startServer(t, simulator)
	b := newBrowser(t, wechatPhone)
	startLogin(s, b, "zhangsan")
	// The person left the consent page open for 11 minutes: the state the
	// app bound to this browser (valid 10) has expired.
	s.Clock.Advance(11 * time.Minute)
	b.tap(`button[value="allow"]`, "/wechat/callback")
	expectMessage(t, b, http.StatusBadRequest, "登录链接已失效")
	b.shot("expired")
	b.checkPage("expired")
	if n := s.Sim.Stats().Exchanges; n != 0 {
		t.Errorf("%d exchanges for an expired state, want 0", n)
	}
	b.tap(`a.btn-primary`, consentPath)
	b.tap(`button[value="allow"]`, "/profile")
	if got := b.text("#nickname"); got != "张三" {
		t.Fatalf("after logging in again: nickname %q", got)
	}
	b.checkClean()
}

func TestSnapshotUserSeesOpenFullPage(t *testing.T) {
	s := startServer(t, simulator)
	b := newBrowser(t, wechatPhone)
	startLogin(s, b, "snapshot")
	b.tap(`button[value="allow"]`, "/wechat/callback")
	expectMessage(t, b, http.StatusOK, "请使用完整服务")
	// WeChat's words; snapshot mode is not only Moments; no 参考编号 (it is
	// not an error).
	if got := b.text(".msg-desc"); !strings.Contains(got, "右下角") || !strings.Contains(got, "使用完整服务") || strings.Contains(got, "朋友圈") {
		t.Errorf("the page does not say what to tap in WeChat's words: %q", got)
	}
	if n := eval[int](b, `document.querySelectorAll('.msg-ref').length`); n != 0 {
		t.Error("the snapshot page shows a reference number")
	}
	b.shot("snapshot")
	b.checkPage("snapshot")
	b.checkClean()
}

func TestWeChatBusyPageRetries(t *testing.T) {
	s := startServer(t, simulator)
	b := newBrowser(t, wechatPhone)
	startLogin(s, b, "zhangsan")
	s.Sim.SetFault("access_token", wechatsim.Fault{ErrCode: -1, Count: 1}) // 系统繁忙, once
	b.tap(`button[value="allow"]`, "/wechat/callback")
	expectMessage(t, b, http.StatusServiceUnavailable, "微信繁忙")
	b.shot("busy")
	b.checkPage("busy")
	// 重试: WeChat has recovered.
	b.tap(`a.btn-primary`, consentPath)
	b.tap(`button[value="allow"]`, "/profile")
	if got := b.text("#nickname"); got != "张三" {
		t.Fatalf("after retrying: nickname %q", got)
	}
	b.checkClean()
}

func TestNotFoundAndInternalErrorPages(t *testing.T) {
	s := startServer(t, simulator)
	b := newBrowser(t, wechatPhone)

	b.open(s.URL+"/no/such/page", "/no/such/page")
	expectMessage(t, b, http.StatusNotFound, "页面不存在")
	b.shot("not-found")
	b.checkPage("not-found")

	// A bug (here a panic injected into the WeChat client) ends on the 500
	// page with a reference the person can quote, never a stack trace.
	startLogin(s, b, "zhangsan")
	s.wx.breakNextExchange()
	b.tap(`button[value="allow"]`, "/wechat/callback")
	expectMessage(t, b, http.StatusInternalServerError, "出错了")
	ref := strings.TrimPrefix(b.text(".msg-ref"), "参考编号 ")
	if len(ref) != 16 || !strings.Contains(s.Logs.String(), ref) {
		t.Errorf("reference %q is not a request id in the server log", ref)
	}
	if body := b.text("body"); strings.Contains(body, "panic") || strings.Contains(body, "goroutine") {
		t.Error("the 500 page shows internals")
	}
	b.shot("internal")
	b.checkPage("internal")
	b.checkClean()
}

// Outside WeChat (and not in simulator mode) the entry URL shows a page
// that says to open it in WeChat, with a QR code of the entry URL drawn by
// the server, which a camera can read.
func TestOpenInWeChatForOtherBrowsers(t *testing.T) {
	s := startServer(t, production)
	entry := s.URL + "/wechat/entry?next=%2Fprofile"
	for _, tt := range []struct {
		name  string
		dev   device
		phone bool
	}{
		{"open-in-wechat-desktop", desktopPC, false},
		{"open-in-wechat", safariPhone, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b := newBrowser(t, tt.dev)
			b.open(s.URL+"/", "/")
			if strings.Contains(b.text("body"), "开发模式") {
				t.Error("production pages show the simulator note")
			}
			b.tap(`a.btn-primary[href^="/wechat/entry"]`, "/wechat/entry")
			expectMessage(t, b, http.StatusOK, "请在微信中打开")
			if tt.phone {
				// The same phone cannot scan its own screen: the page leads
				// with the link, selected whole by one tap, to paste into WeChat.
				if got := b.text(".link-copy code"); got != entry {
					t.Errorf("the link to copy is %q, want %q", got, entry)
				}
				if n := eval[int](b, `document.querySelectorAll('.qr svg').length`); n != 0 {
					t.Error("a phone is asked to scan a QR code on its own screen")
				}
				if got := eval[string](b, `getComputedStyle(document.querySelector('.link-copy code')).userSelect`); got != "all" {
					t.Errorf("one tap does not select the whole link (user-select %q)", got)
				}
				b.shot(tt.name)
				b.checkPage(tt.name)
				b.checkClean()
				return
			}
			if got := b.text(".link-box code"); got != entry {
				t.Errorf("the link shown is %q, want %q", got, entry)
			}
			if got := eval[string](b, `document.querySelector('.qr svg').getAttribute('aria-label')`); got == "" {
				t.Error("the QR code has no accessible name")
			}
			shot := b.shot(tt.name)
			if got := decodeQR(t, shot); got != entry {
				t.Errorf("the QR code reads %q, want %q", got, entry)
			}
			b.checkPage(tt.name)
			b.checkClean()
		})
	}
	if n := s.Sim.Stats().ByEndpoint["authorize"]; n != 0 {
		t.Errorf("a browser outside WeChat was sent to WeChat's authorize page %d times", n)
	}
}
