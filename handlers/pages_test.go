package handlers

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"wxlogin/models"
	"wxlogin/reqid"
)

// strictCSPViolations finds markup that the pages' CSP (script-src 'self';
// style-src 'self') would block, plus resources from other origins.
var strictCSPViolations = []*regexp.Regexp{
	// No inline script: the one script (the QR login page's poll) is a file.
	regexp.MustCompile(`<script>`),
	regexp.MustCompile(`<script[^>]*>[^<]+</script>`),
	regexp.MustCompile(`<style`),
	regexp.MustCompile(`\sstyle=`),
	regexp.MustCompile(`\son[a-z]+=`),
	regexp.MustCompile(`(?:href|src)="javascript:`),
	regexp.MustCompile(`<link[^>]*href="(?:[a-z]+:|//)`),
}

// renderedPages renders every user-facing page with realistic data.
func renderedPages(t *testing.T, h *Handler) map[string]string {
	t.Helper()
	seen := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
	user := &models.User{
		ID: 1, Nickname: `<script>alert("x")</script> & "Tom" 's`, Sex: 2, Province: "广东", City: "<b>City</b>",
		Country: "中国", AvatarURL: "http://thirdwx.qlogo.cn/mmopen/abc/132", Language: "zh_CN",
		CreatedAt: seen, LastLoginAt: &seen, LoginCount: 3, ProfileUpdatedAt: &seen,
	}
	render := func(page string, data templateData) string {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req = req.WithContext(reqid.With(req.Context(), "req-id-1"))
		h.renderTo(rec, req, http.StatusOK, page, data)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", page, rec.Code, rec.Body.String())
		}
		// A declared length: without it a page over net/http's 2 KiB
		// buffer went out chunked (the profile page did).
		if got, want := rec.Header().Get("Content-Length"), strconv.Itoa(rec.Body.Len()); got != want {
			t.Errorf("%s: Content-Length %q, want %s", page, got, want)
		}
		return rec.Body.String()
	}
	out := map[string]string{
		"home":            render("home", templateData{}),
		"home logged in":  render("home", templateData{User: user}),
		"profile":         render("profile", templateData{User: user}),
		"profile minimal": render("profile", templateData{User: &models.User{ID: 2}}),
		"open_in_wechat": render("open_in_wechat", templateData{
			EntryURL: "https://wx.example.com/wechat/entry?next=%2Fprofile",
			QR:       qrSVG("https://wx.example.com/wechat/entry?next=%2Fprofile"),
		}),
		"open_in_wechat phone": render("open_in_wechat", templateData{
			EntryURL: "https://wx.example.com/wechat/entry?next=%2Fprofile",
			QR:       qrSVG("https://wx.example.com/wechat/entry?next=%2Fprofile"), Phone: true,
		}),
	}
	for key, m := range messages {
		out["message "+key] = render("message", templateData{Message: m})
	}
	scan := h.cfg.BaseURL.String() + "/login/qr/scan?t=abcdefghijklmnopqrstuvwxyzABCD-_"
	out["qr_login"] = render("qr_login", templateData{QR: qrSVGLabel(scan, "扫码登录的二维码"), Data: qrPageData{
		Ticket: "abcdefghijklmnopqrstuvwxyzABCD-_", ScanURL: scan, Status: "waiting", ExpiresAt: seen.UnixMilli(),
		Expires: "13:09:00", Seconds: 180}})
	out["qr_confirm"] = render("qr_confirm", templateData{User: user, Data: qrScanData{
		Ticket: "abcdefghijklmnopqrstuvwxyzABCD-_", CSRF: "tok", Browser: "Chrome 120", OS: "Windows",
		Created: "13:06:00", IP: "192.0.2.7"}})
	for key, m := range computerMessages {
		out["qr computer "+key] = render("message", templateData{Message: m})
	}
	for key, m := range phoneMessages {
		out["qr phone "+key] = render("message", templateData{Message: m})
	}
	return out
}

func TestPagesAreStrictCSPAndAccessible(t *testing.T) {
	h := pageHandler(t, map[string]string{"DATA_DIR": t.TempDir()})
	for name, body := range renderedPages(t, h) {
		t.Run(name, func(t *testing.T) {
			for _, re := range strictCSPViolations {
				if m := re.FindString(body); m != "" {
					t.Errorf("violates the CSP: %q", m)
				}
			}
			for _, want := range []string{`<html lang="zh-CN">`, `name="viewport"`, `<main`, `<h1`, `<title>`} {
				if !strings.Contains(body, want) {
					t.Errorf("lacks %q", want)
				}
			}
			for _, img := range regexp.MustCompile(`<img[^>]*>`).FindAllString(body, -1) {
				if !strings.Contains(img, ` alt="`) {
					t.Errorf("image without alt text: %s", img)
				}
			}
			for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
				if !strings.Contains(tag, ` src="/static/`) {
					t.Errorf("script not loaded from /static/: %s", tag)
				}
			}
			for _, src := range regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(body, -1) {
				u := src[1]
				if !strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "https://thirdwx.qlogo.cn/") &&
					!strings.HasPrefix(u, h.cfg.BaseURL.String()+"/") {
					t.Errorf("link or resource off-site: %q", u)
				}
			}
		})
	}
}

func TestPageContent(t *testing.T) {
	h := pageHandler(t, map[string]string{"DATA_DIR": t.TempDir()})
	pages := renderedPages(t, h)
	tests := []struct {
		page string
		want []string
		not  []string
	}{
		// Today's WeChat gives no gender or region: nothing promises them.
		{"home", []string{"微信登录", `href="/wechat/entry?next=/profile"`, "不弹授权页", "<h1 id=\"hero-title\" class=\"hero-title\">wxlogin</h1>", "<title>微信登录 · wxlogin</title>"},
			[]string{"查看我的资料", "性别", "地区", "语言"}},
		{"home logged in", []string{"查看我的资料", `href="/profile"`, "&lt;script&gt;"}, []string{"<script>", `href="/wechat/entry`}},
		{"profile", []string{
			"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;Tom&#34; &#39;s", "已分享", "2026-03-04 13:06", "登录次数",
			`class="avatar"`, `src="https://thirdwx.qlogo.cn/mmopen/abc/132"`,
			"刷新昵称和头像", "scope=snsapi_userinfo&amp;refresh=1", `action="/logout"`, "退出登录",
		}, []string{"<b>City</b>", "City", "广东", ">女<", "简体中文"}},
		{"profile minimal", []string{"微信用户", "未分享", "分享昵称和头像", "只问这一次", `aria-label="没有头像"`}, []string{"刷新昵称和头像"}},
		{"open_in_wechat", []string{"请在微信中打开", "<svg", `role="img"`, "https://wx.example.com/wechat/entry?next=%2Fprofile"}, nil},
		// A phone cannot scan its own screen: copy the link into WeChat.
		{"open_in_wechat phone", []string{"复制链接", "粘贴到微信", `class="link-copy"`, "https://wx.example.com/wechat/entry?next=%2Fprofile"},
			[]string{"<svg", "扫一扫"}},
		{"message cancelled", []string{"已取消登录", `href="/wechat/entry?next=/profile"`, "icon-info.svg"}, nil},
		{"message wechat_busy", []string{"微信繁忙", "重试", "icon-waiting.svg"}, nil},
		{"message internal", []string{"出错了", "icon-warn.svg"}, nil},
		{"message internal", []string{"参考编号 req-id-1"}, nil},
		// WeChat's own words; snapshot mode is not only Moments, and it is no
		// error: no reference number.
		{"message snapshot", []string{"使用完整服务", "右下角"}, []string{"btn-primary", "朋友圈", "参考编号", "req-id-1"}},
		{"qr_login", []string{"微信扫码登录", "<svg", `data-ticket="abcdefghijklmnopqrstuvwxyzABCD-_"`,
			`/login/qr/scan?t=abcdefghijklmnopqrstuvwxyzABCD-_"`,
			`<script src="/static/qrlogin.js?v=`, `action="/login/qr"`, `name="t"`, "180 秒"}, nil},
		{"qr_confirm", []string{"确认登录", "取消", "Chrome 120", "Windows", "13:06:00", `action="/login/qr/confirm"`,
			`method="post"`, `name="csrf" value="tok"`, "&lt;script&gt;"}, []string{"<script"}},
		{"qr computer expired", []string{"二维码已过期", `href="/login/qr"`}, nil},
		{"qr phone taken", []string{"二维码已作废"}, nil},
	}
	for _, tt := range tests {
		body, ok := pages[tt.page]
		if !ok {
			t.Fatalf("no page %q", tt.page)
		}
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q", tt.page, w)
			}
		}
		for _, n := range tt.not {
			if strings.Contains(body, n) {
				t.Errorf("%s must not contain %q", tt.page, n)
			}
		}
	}
}

func TestSimulatorNoteOnlyInSimulatorMode(t *testing.T) {
	for _, tt := range []struct {
		vars map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"WECHAT_APPID": "wx0123456789abcdef", "WECHAT_SECRET": "s",
			"SESSION_KEYS": strings.Repeat("01", 32), "TOKEN_KEY": strings.Repeat("02", 32)}, false},
	} {
		tt.vars["DATA_DIR"] = t.TempDir()
		h := pageHandler(t, tt.vars)
		rec := httptest.NewRecorder()
		h.renderTo(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "home", templateData{})
		if got := strings.Contains(rec.Body.String(), "开发模式"); got != tt.want {
			t.Errorf("simulator %v: note shown %v", h.cfg.Simulator, got)
		}
	}
}
