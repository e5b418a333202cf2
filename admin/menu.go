package admin

import (
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"wxlogin/handlers"
	"wxlogin/qrcode"
	"wxlogin/wechat"
)

type check struct {
	OK   bool
	Text string
}

type menuData struct {
	EntryURL    string
	QR          template.HTML
	Next        string
	NextRefused bool // the asked-for next was not a safe local path
	Scope       string
	NextChoices []option
	Scopes      []option
	Domain      string
	RedirectURI string
	BaseURL     string
	Checks      []check

	// The menu editor (menueditor.go).
	Editor *menuForm
	// Targets are wxlogin's own pages offered as view URLs.
	Targets []option
	// Types are the button types a slot offers; TopTypes add "sub".
	Types, TopTypes []option
	// Preview is the validated menu awaiting confirmation (nil: editing).
	Preview     *wechat.Menu
	PreviewJSON string
	// CanPublish is false when no token center is wired (no WeChat).
	CanPublish bool
}

// menu shows the menu editor, the URL to put in the Official Account's
// menu (for a chosen next page and scope), its QR code, and whether
// BASE_URL is fit for WeChat.
func (a *Admin) menu(c *gin.Context) {
	q, ok := strictQuery(c, "next", "scope")
	if !ok {
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	d, ok := a.menuBase(q.Get("next"), q.Get("scope"))
	if !ok {
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	d.Editor = a.starterMenu()
	a.render(c, http.StatusOK, "menu", pageData{Title: "菜单设置", Nav: "menu", Data: d})
}

// menuBase builds the URL builder's part of the page for next and scope;
// false when scope is not one WeChat knows.
func (a *Admin) menuBase(next, scope string) (menuData, bool) {
	d := menuData{
		Next: "/profile", Scope: scope,
		NextChoices: []option{{"/profile", "我的资料 /profile"}, {"/", "首页 /"}},
		Scopes: []option{{"", "默认（" + a.cfg.WeChatScope + "）"},
			{"snsapi_base", "snsapi_base 静默授权，只取 openid"},
			{"snsapi_userinfo", "snsapi_userinfo 弹出授权页，取昵称头像"}},
		Domain: a.cfg.BaseURL.Hostname(), RedirectURI: a.cfg.RedirectURI(), BaseURL: a.cfg.BaseURL.String(),
		Types:      []option{{"view", "跳转网页 view"}, {"click", "点击事件 click"}, {"miniprogram", "小程序 miniprogram"}},
		CanPublish: a.tokens != nil,
	}
	d.TopTypes = append([]option{{typeSub, "子菜单（只显示名称）"}}, d.Types...)
	if next != "" {
		if safe := handlers.SafeNext(next); safe == next {
			d.Next = next
		} else {
			d.NextRefused = true
		}
	}
	switch d.Scope {
	case "", "snsapi_base", "snsapi_userinfo":
	default:
		return d, false
	}
	d.EntryURL = a.entryURL(d.Next, d.Scope)
	if a.qr != nil {
		d.QR = a.qr(d.EntryURL)
	}
	d.Checks = a.baseURLChecks()
	for _, t := range []struct{ next, scope, label string }{
		{"/profile", "", "我的资料（默认授权方式）"},
		{"/profile", "snsapi_base", "我的资料（静默授权）"},
		{"/", "", "首页"},
	} {
		u := a.entryURL(t.next, t.scope)
		d.Targets = append(d.Targets, option{u, t.label})
	}
	return d, true
}

// entryURL is the menu link into wxlogin: the entry with next and scope.
func (a *Admin) entryURL(next, scope string) string {
	// "/" may stand unescaped in a query; the URL stays readable for the
	// person pasting it.
	u := strings.TrimRight(a.cfg.BaseURL.String(), "/") + "/wechat/entry?next=" +
		strings.ReplaceAll(url.QueryEscape(next), "%2F", "/")
	if scope != "" {
		u += "&scope=" + scope
	}
	return u
}

// starterMenu is the editor's content before anything is loaded: one view
// button into wxlogin's profile page.
func (a *Admin) starterMenu() *menuForm {
	return formFromMenu(wechat.Menu{Buttons: []wechat.Button{{Type: "view", Name: "我的", URL: a.entryURL("/profile", "")}}})
}

// baseURLChecks says whether BASE_URL can work as WeChat's authorization
// domain (网页授权域名): https, a registered domain name, no port.
func (a *Admin) baseURLChecks() []check {
	u := a.cfg.BaseURL
	host := u.Hostname()
	var out []check
	if u.Scheme == "https" {
		out = append(out, check{true, "BASE_URL 使用 https，Cookie 带 Secure 标记。"})
	} else {
		out = append(out, check{false, "BASE_URL 不是 https：Cookie 无法加 Secure 标记，登录态可能在网络上被窃听。正式上线前请改用 https。"})
	}
	switch {
	case host == "localhost" || strings.HasSuffix(host, ".localhost"):
		out = append(out, check{false, "BASE_URL 指向 localhost：手机上的微信访问不到，只能用于本机开发。"})
	case net.ParseIP(host) != nil:
		out = append(out, check{false, "BASE_URL 是 IP 地址：微信的网页授权域名必须是已备案的域名，不能填 IP。"})
	default:
		out = append(out, check{true, "BASE_URL 是域名 " + host + "。"})
	}
	if p := u.Port(); p != "" && !(u.Scheme == "https" && p == "443") && !(u.Scheme == "http" && p == "80") {
		out = append(out, check{false, "BASE_URL 带端口 " + p + "：微信的网页授权域名不支持端口号，请通过 80/443 对外提供服务（例如在反向代理后面）。"})
	}
	if u.Path != "" && u.Path != "/" {
		out = append(out, check{true, "BASE_URL 带路径 " + u.Path + "：授权域名只填域名部分即可。"})
	}
	if a.cfg.Simulator {
		out = append(out, check{false, "当前是开发模式（未设置 WECHAT_APPID），登录走内置的微信模拟器，不会连接真正的微信。"})
	}
	return out
}

// entryQR draws the entry URL as a QR code (inline SVG, level M, as on the
// open-in-WeChat page), or nothing when the URL cannot be encoded.
func entryQR(s string) template.HTML {
	c, err := qrcode.Encode([]byte(s), qrcode.M)
	if err != nil {
		return ""
	}
	// qrcode.SVG builds the markup from module coordinates and an escaped label only.
	return template.HTML(c.SVG("菜单链接的二维码，用微信扫一扫打开")) //nolint:gosec // escaped by qrcode.SVG
}
