package e2e

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// User-Agents: what Android WeChat's in-app browser sends, and a desktop
// Chrome that is not WeChat.
const (
	androidWeChatUA = "Mozilla/5.0 (Linux; Android 13; V2148A Build/TP1A.220624.014; wv) AppleWebKit/537.36 " +
		"(KHTML, like Gecko) Version/4.0 Chrome/116.0.0.0 Mobile Safari/537.36 XWEB/1160065 MMWEBSDK/20231202 " +
		"MMWEBID/2247 MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN ABI/arm64"
	desktopUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " +
		"Chrome/126.0.0.0 Safari/537.36"
	iPhoneSafariUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 " +
		"(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)

// device is what the browser pretends to be.
type device struct {
	ua            string
	width, height int64
	mobile        bool
}

var (
	wechatPhone = device{androidWeChatUA, 375, 667, true}
	safariPhone = device{iPhoneSafariUA, 375, 667, true}
	desktopPC   = device{desktopUA, 1280, 800, false}
)

// stepTimeout bounds one browser step, so a broken page fails the test
// with a message instead of hanging it. It is never what a test asserts.
const stepTimeout = time.Minute

var docsFlag = flag.Bool("docs", false, "also write the main pages' screenshots to ../docs/screens/")

// chromiumPath finds Chromium: CHROMIUM_PATH, else chromium or
// chromium-browser on PATH. Missing Chromium fails the test (never a skip).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		if st, err := os.Stat(p); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			t.Fatalf("CHROMIUM_PATH=%s is not an executable; unset it or run `make test`, which installs Chromium", p)
		}
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is missing: `make test` installs it (scripts/ensure-chromium.sh installs Debian's " +
		"chromium package); or set CHROMIUM_PATH to a Chromium binary")
	return ""
}

// browser is one headless Chromium with a fresh profile and one tab. It
// watches everything the tab reports and fails the test on any console
// error, uncaught exception, CSP violation or failed request.
type browser struct {
	t   *testing.T
	ctx context.Context
	dev device

	mu       sync.Mutex
	problems []string
	requests map[network.RequestID]request
	docs     []docResponse // main-frame document responses, in order
	aborted  []string      // navigations the browser aborted that the test allowed
	mayAbort func(u *url.URL) bool
	curURL   string
	waiters  []*waiter
}

type request struct {
	url string
	typ network.ResourceType
}

type docResponse struct {
	url    string
	status int64
}

type waiter struct {
	path string
	ch   chan string
}

// newBrowser starts Chromium with the flags that work without network,
// emulating dev.
func newBrowser(t *testing.T, dev device) *browser {
	t.Helper()
	b := &browser{t: t, dev: dev, requests: map[network.RequestID]request{}}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.UserAgent(dev.ua),
		chromedp.WindowSize(int(dev.width), int(dev.height)),
	)
	ctx, cancel := chromedp.NewContext(allocCtx, chromedp.WithListener(b.onEvent))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	b.ctx = ctx
	// The first Do starts the browser; its life is bound to ctx, not to a
	// step's timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	b.emulate(dev.width, dev.height)
	return b
}

// emulate sets the viewport: 2 device pixels per CSS pixel, like a phone.
func (b *browser) emulate(width, height int64) {
	b.t.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(2)}
	if b.dev.mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	b.run(chromedp.EmulateViewport(width, height, opts...))
}

// darkMode switches prefers-color-scheme.
func (b *browser) darkMode(on bool) {
	b.t.Helper()
	scheme := "light"
	if on {
		scheme = "dark"
	}
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	}); err != nil {
		b.t.Fatalf("prefers-color-scheme %s: %v", scheme, err)
	}
}

// run runs browser steps, bounded by stepTimeout.
func (b *browser) run(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("browser: %v (now at %s)", err, b.url())
	}
}

// eval evaluates a JavaScript expression in the page (DevTools evaluation,
// which the page's CSP does not restrict) and decodes the result.
func eval[T any](b *browser, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// text returns the text of the first element matching a CSS selector.
func (b *browser) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v (at %s)", sel, err, b.url())
	}
	return strings.TrimSpace(s)
}

// open navigates to rawURL and waits until the page at wantPath has loaded
// (after any redirects).
func (b *browser) open(rawURL, wantPath string) string {
	b.t.Helper()
	return b.until(wantPath, chromedp.Navigate(rawURL))
}

// tap clicks the element and waits until the page at wantPath has loaded.
func (b *browser) tap(sel, wantPath string) string {
	b.t.Helper()
	return b.until(wantPath, chromedp.Click(chromedp.CSS(sel)))
}

// until runs a step that navigates, then waits for the load event of a
// main-frame document whose path is wantPath, and returns its URL. The
// waiter is registered first, so a fast page cannot be missed.
func (b *browser) until(wantPath string, step chromedp.Action[chromedp.Void]) string {
	b.t.Helper()
	w := &waiter{path: wantPath, ch: make(chan string, 1)}
	b.mu.Lock()
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	b.run(step)
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	select {
	case u := <-w.ch:
		return u
	case <-ctx.Done():
		b.mu.Lock()
		docs := fmt.Sprint(b.docs)
		b.mu.Unlock()
		b.t.Fatalf("no page %s loaded; now at %s; documents so far %s; problems %q", wantPath, b.url(), docs, b.problemList())
		return ""
	}
}

func (b *browser) url() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.curURL
}

// lastStatus is the HTTP status of the last main-frame document.
func (b *browser) lastStatus() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.docs) == 0 {
		return 0
	}
	return b.docs[len(b.docs)-1].status
}

// allowAbort lets the browser abort navigations to matching URLs (the
// double callback does so on purpose); every other failed request fails.
func (b *browser) allowAbort(match func(u *url.URL) bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.mayAbort = match
}

// abortedNavigations are the allowed aborts seen so far.
func (b *browser) abortedNavigations() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.aborted...)
}

func (b *browser) problemList() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// checkClean fails the test if the tab reported anything wrong so far.
func (b *browser) checkClean() {
	b.t.Helper()
	for _, p := range b.problemList() {
		b.t.Errorf("browser reported: %s", p)
	}
}

func (b *browser) problem(format string, args ...any) {
	b.problems = append(b.problems, fmt.Sprintf(format, args...))
}

// onEvent runs in the tab's event loop, in the order Chrome sent the
// events: it must return fast and send no command.
func (b *browser) onEvent(ev any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			b.problem("console.%s: %s", ev.Type, remoteText(ev.Args))
		}
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		text := d.Text
		if d.Exception != nil {
			text += " " + d.Exception.Description
		}
		b.problem("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, text)
	case *cdplog.EventEntryAdded:
		e := ev.Entry
		if e.Level != cdplog.EntryLevelError {
			return
		}
		// A document's own error status (the 404 page is a 404) is logged
		// as a failed load; the tests assert those statuses themselves.
		if r, ok := b.requests[e.NetworkRequestID]; ok && r.typ == network.ResourceTypeDocument &&
			strings.HasPrefix(e.Text, "Failed to load resource: the server responded with a status of") {
			return
		}
		b.problem("console (%s): %s %s", e.Source, e.Text, e.URL)
	case *network.EventRequestWillBeSent:
		b.requests[ev.RequestID] = request{url: ev.Request.URL, typ: ev.Type}
	case *network.EventResponseReceived:
		if ev.Type == network.ResourceTypeDocument { // no page here has frames
			b.docs = append(b.docs, docResponse{url: redact(ev.Response.URL), status: ev.Response.Status})
			return
		}
		if ev.Response.Status >= 400 {
			b.problem("%s %s answered %d", ev.Type, ev.Response.URL, ev.Response.Status)
		}
	case *network.EventLoadingFailed:
		r := b.requests[ev.RequestID]
		if u, err := url.Parse(r.url); err == nil && ev.Canceled && r.typ == network.ResourceTypeDocument &&
			b.mayAbort != nil && b.mayAbort(u) {
			b.aborted = append(b.aborted, r.url)
			return
		}
		b.problem("request failed: %s %s: %s (canceled %v, blocked %q)", r.typ, redact(r.url), ev.ErrorText, ev.Canceled, ev.BlockedReason)
	case *page.EventFrameNavigated:
		if ev.Frame.ParentID == "" {
			b.curURL = ev.Frame.URL
		}
	case *page.EventLoadEventFired:
		u, err := url.Parse(b.curURL)
		if err != nil {
			return
		}
		kept := b.waiters[:0]
		for _, w := range b.waiters {
			if w.path == u.Path {
				w.ch <- b.curURL
				continue
			}
			kept = append(kept, w)
		}
		b.waiters = kept
	}
}

func remoteText(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		if a == nil {
			continue
		}
		if len(a.Value) > 0 {
			parts = append(parts, string(a.Value))
		} else {
			parts = append(parts, a.Description)
		}
	}
	return strings.Join(parts, " ")
}

// redact drops the query of a URL: callback URLs carry codes.
func redact(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i] + "?…"
	}
	return s
}

// docScreens are the pages whose screenshots the README shows.
var docScreens = map[string]bool{
	"landing": true, "consent": true, "profile": true, "profile-dark": true, "cancelled": true, "open-in-wechat": true,
	"qr-login": true, "qr-confirm": true, "qr-scanned": true, "qr-confirmed": true,
	"sim-push": true, "admin-pushes": true, "admin-user-follow": true,
	"menu-editor": true, "menu-preview": true, "chat-window": true,
	"admin-dashboard-desktop": true, "admin-users-desktop": true, "admin-users-phone320": true, "admin-confirm-phone": true,
	"admin-user-phone": true, "admin-logins-desktop": true, "admin-audit-desktop": true, "admin-dashboard-dark": true,
}

// screensDir is where screenshots go: $E2E_SCREENS, else testdata/screens
// (ignored by git). The path is logged once so people can find them.
var (
	screensOnce sync.Once
	screensPath string
)

func screensDir(t *testing.T) string {
	screensOnce.Do(func() {
		screensPath = os.Getenv("E2E_SCREENS")
		if screensPath == "" {
			screensPath = filepath.Join("testdata", "screens")
		}
		if abs, err := filepath.Abs(screensPath); err == nil {
			screensPath = abs
		}
	})
	if err := os.MkdirAll(screensPath, 0o755); err != nil {
		t.Fatal(err)
	}
	return screensPath
}

// shot saves the viewport as name.png (and, with -docs, the README copy of
// a main page) and returns the PNG.
func (b *browser) shot(name string) []byte {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := screensDir(b.t)
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
	if *docsFlag && docScreens[name] {
		docs := filepath.Join("..", "docs", "screens")
		if err := os.MkdirAll(docs, 0o755); err != nil {
			b.t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(docs, name+".png"), png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	return png
}
