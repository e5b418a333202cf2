package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The computer login by QR code in two real browsers: a desktop Chrome at
// 1280 px shows the code; an Android WeChat at 375 px reads it (from the
// screenshot, as a camera would), opens it with the simulator's 扫一扫 in
// the chat window, logs in through WeChat's consent page, and confirms; the computer's page notices the scan and then moves to the
// profile by itself, logged in as that person.
func TestQRLoginWithTwoBrowsers(t *testing.T) {
	s := startServer(t, simulator)
	pc := newBrowser(t, desktopPC)
	phone := newBrowser(t, wechatPhone)

	pc.open(s.URL+"/", "/")
	pc.tap(`#qr-login-link`, "/login/qr")
	if got := pc.text("h1"); got != "微信扫码登录" {
		t.Fatalf("computer h1 %q", got)
	}
	if got := pc.text("#qr-status"); got != "等待扫描" {
		t.Fatalf("computer status %q", got)
	}
	if eval[bool](pc, `!document.getElementById('qr-check').hidden`) {
		t.Error("the no-script check button is shown although the script runs")
	}
	scan := decodeQR(t, pc.shot("qr-login"))
	if !strings.HasPrefix(scan, s.URL+"/login/qr/scan?t=") {
		t.Fatalf("the QR code reads %q", scan)
	}
	if got := pc.text("#qr-link"); got != scan {
		t.Errorf("the link under the code is %q, want the QR code's %q", got, scan)
	}
	pc.checkPage("qr-login")

	// The phone scans, with the simulator's 扫一扫 in its chat window: not
	// logged in yet, so through WeChat and back.
	phone.open(s.URL+"/_sim/chat", "/_sim/chat")
	phone.run(chromedp.SendKeys(chromedp.CSS(`#chat-scan input[name=url]`), scan))
	phone.tap(`#chat-scan button`, consentPath)
	phone.choose("user", "zhangsan")
	phone.choose("double", "off")
	phone.tap(`button[value="allow"]`, "/login/qr/scan")
	if got := phone.text("h1"); !strings.Contains(got, "登录电脑") {
		t.Fatalf("phone h1 %q", got)
	}
	for sel, want := range map[string]string{"#pc-browser": "Chrome 126", "#pc-os": "Windows"} {
		if got := phone.text(sel); got != want {
			t.Errorf("confirmation page %s = %q, want %q", sel, got, want)
		}
	}
	phone.shot("qr-confirm")
	phone.checkPage("qr-confirm")
	phone.checkDark("qr-confirm")

	// The computer's page learns of the scan by itself.
	pc.waitFor(`document.getElementById('qr-status').textContent.includes('已扫描')`)
	pc.shot("qr-scanned")

	// 确认登录: the computer moves to the profile by itself.
	arrived := pc.expect("/profile")
	phone.tap(`#qr-confirm`, "/login/qr/confirm")
	if got := phone.text("h1"); got != "已确认登录" {
		t.Fatalf("phone after confirming: %q", got)
	}
	phone.shot("qr-confirmed")
	arrived()
	if st := pc.lastStatus(); st != http.StatusOK {
		t.Fatalf("computer profile status %d", st)
	}
	if got := pc.text("#nickname"); got != "张三" {
		t.Fatalf("computer logged in as %q, want 张三", got)
	}
	pc.shot("qr-computer-profile")

	// The code is used: scanning it again says so.
	phone.open(scan, "/login/qr/scan")
	if got := phone.text("h1"); got != "二维码已被使用" {
		t.Errorf("rescan: %q", got)
	}
	pc.checkClean()
	phone.checkClean()
}

// waitFor waits until a JavaScript expression is true in the page.
func (b *browser) waitFor(expr string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond))); err != nil {
		b.t.Fatalf("waiting for %s: %v (at %s)", expr, err, b.url())
	}
}

// expect registers a waiter for a page at path that another browser's
// action will cause, and returns the wait.
func (b *browser) expect(path string) func() string {
	w := &waiter{path: path, ch: make(chan string, 1)}
	b.mu.Lock()
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	return func() string {
		b.t.Helper()
		ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
		defer cancel()
		select {
		case u := <-w.ch:
			return u
		case <-ctx.Done():
			b.t.Fatalf("no page %s loaded by itself; now at %s; problems %q", path, b.url(), b.problemList())
			return ""
		}
	}
}
