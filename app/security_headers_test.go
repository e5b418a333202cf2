package app

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// httpsLogin runs a login against an instance whose BASE_URL is https while
// the test talks plain http to it: cookies are carried by hand, since a jar
// would (rightly) not send Secure cookies over http. It returns every
// response of the flow, the session cookie name and the final cookie value.
func httpsLogin(t *testing.T, e *env, in *instance, public, user, scope string) (pages []page, value string) {
	t.Helper()
	const name = "__Host-" + cookieName
	p := rawGet(t, in.URL+"/wechat/entry?next=/profile&scope="+scope, "")
	pages = append(pages, p)
	pre := setCookie(p, name)
	if p.Status != http.StatusFound || pre == nil {
		t.Fatalf("entry: %d, cookie %v", p.Status, pre)
	}
	cb := e.authorize(p.Location, user, "allow")
	if !strings.HasPrefix(cb, public+"/wechat/callback?") {
		t.Fatalf("callback URL %s is not on BASE_URL", redact(cb))
	}
	p = rawGet(t, in.URL+strings.TrimPrefix(cb, public), name+"="+pre.Value)
	pages = append(pages, p)
	post := setCookie(p, name)
	if p.Status != http.StatusFound || post == nil {
		t.Fatalf("callback: %d, cookie %v", p.Status, post)
	}
	p = rawGet(t, in.URL+"/profile", name+"="+post.Value)
	pages = append(pages, p)
	if p.Status != http.StatusOK {
		t.Fatalf("profile: %d", p.Status)
	}
	return pages, post.Value
}

// Cookies: HttpOnly and SameSite=Lax always (Strict would drop the cookie on
// the return from WeChat, a cross-site navigation); Secure, Path=/, no
// Domain and the __Host- prefix under https. HSTS only under https.
func TestCookieAttributesAndHSTS(t *testing.T) {
	e := newEnv(t)
	t.Run("http BASE_URL", func(t *testing.T) {
		in := e.start("plain", nil, Options{})
		b := newBrowser(t)
		pre := b.get(in.URL + "/wechat/entry?next=/profile")
		post := b.get(e.authorize(pre.Location, "zhangsan", "allow"))
		for _, p := range []page{pre, post} {
			c := setCookie(p, cookieName)
			if c == nil {
				t.Fatal("no session cookie")
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.Secure {
				t.Fatalf("cookie attributes: %s", p.Header.Get("Set-Cookie"))
			}
			if h := p.Header.Get("Strict-Transport-Security"); h != "" {
				t.Fatalf("HSTS over plain http: %q", h)
			}
		}
	})
	t.Run("https BASE_URL", func(t *testing.T) {
		const public = "https://wx.example"
		in := e.start("tls", map[string]string{"BASE_URL": public}, Options{})
		pages, _ := httpsLogin(t, e, in, public, "zhangsan", "snsapi_userinfo")
		for i, p := range pages {
			if h := p.Header.Get("Strict-Transport-Security"); !strings.Contains(h, "max-age=63072000") {
				t.Fatalf("response %d: HSTS %q", i, h)
			}
			if i == 2 {
				break // the profile sets no cookie
			}
			raw := p.Header.Get("Set-Cookie")
			if setCookie(p, cookieName) != nil {
				t.Fatalf("unprefixed cookie under https: %s", raw)
			}
			c := setCookie(p, "__Host-"+cookieName)
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" ||
				strings.Contains(strings.ToLower(raw), "domain=") {
				t.Fatalf("response %d: cookie attributes %s", i, raw)
			}
		}
	})
}

// The cookie only carries a signed random id, so it stays small whatever the
// profile holds: a 64 KiB hostile nickname changes nothing.
func TestCookieSizeWhateverTheNickname(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	first := newBrowser(t)
	e.login(first, in, "xss")
	huge := strings.Repeat(`<script>alert("x")</script>&"'`+"\U0001F600", 2048)
	uid := e.userIDOf(in, "xss")
	if err := in.App.DB.Gorm.Exec("UPDATE users SET nickname = ?, city = ?, province = ? WHERE id = ?", huge, huge, huge, uid).Error; err != nil {
		t.Fatal(err)
	}
	// A silent snsapi_base login keeps the stored profile.
	b := newBrowser(t)
	var flow []page
	p := b.get(in.URL + "/wechat/entry?next=/profile&scope=snsapi_base")
	flow = append(flow, p)
	p = b.get(e.authorize(p.Location, "xss", "allow"))
	flow = append(flow, p)
	if p.Status != http.StatusFound {
		t.Fatalf("login: %d", p.Status)
	}
	prof := b.get(in.URL + "/profile")
	flow = append(flow, prof)
	if prof.Status != http.StatusOK || !strings.Contains(prof.Body, "&lt;script&gt;alert(&#34;x&#34;)") {
		t.Fatalf("profile with the huge nickname: %d", prof.Status)
	}
	for _, p := range flow {
		for _, line := range p.Header.Values("Set-Cookie") {
			if len(line) >= 4096 {
				t.Fatalf("Set-Cookie of %d bytes", len(line))
			}
		}
	}
	value := b.jarCookie(in)
	id, ok := cookieID(t, testSessionKey, cookieName, value)
	if !ok || len(id) != 43 {
		t.Fatalf("cookie does not hold just a 32-byte id (%d bytes, verifies %v)", len(id), ok)
	}
	if len(cookieName)+1+len(value) >= 4096 || len(value) > 256 {
		t.Fatalf("cookie of %d bytes", len(value))
	}
}

// cspDirectives parses a Content-Security-Policy header.
func cspDirectives(h string) map[string][]string {
	out := map[string][]string{}
	for _, d := range strings.Split(h, ";") {
		f := strings.Fields(d)
		if len(f) > 0 {
			out[strings.ToLower(f[0])] = f[1:]
		}
	}
	return out
}

// Every response carries the security headers; the callback and error pages
// (whose URL may hold a code) are never sent as a Referer.
func TestSecurityHeadersOnEveryPage(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	user := newBrowser(t)
	e.login(user, in, "zhangsan")
	pending := newBrowser(t)
	pendingCB := e.authorize(pending.entry(in, "/profile"), "zhangsan", "deny")
	anon := newBrowser(t)

	tests := []struct {
		name string
		get  func() page
	}{
		{"home", func() page { return anon.get(in.URL + "/") }},
		{"profile", func() page { return user.get(in.URL + "/profile") }},
		{"profile redirect", func() page { return anon.get(in.URL + "/profile") }},
		{"entry redirect", func() page { return anon.get(in.URL + "/wechat/entry?next=/profile") }},
		{"callback bad state", func() page { return anon.get(in.URL + "/wechat/callback?code=abc&state=xyz") }},
		{"callback cancelled", func() page { return pending.get(pendingCB) }},
		{"not found", func() page { return anon.get(in.URL + "/nope") }},
		{"method not allowed", func() page { return anon.do(t.Context(), http.MethodPut, in.URL+"/profile", nil) }},
		{"query too long", func() page { return anon.get(in.URL + "/?q=" + strings.Repeat("a", 5000)) }},
		{"cross-origin POST refused", func() page {
			return rawDo(t, http.MethodPost, in.URL+"/logout", "", strings.NewReader(""),
				http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}})
		}},
		{"open in WeChat page", func() page {
			return rawDo(t, http.MethodGet, in.URL+"/wechat/entry", "", nil, http.Header{"User-Agent": {"Mozilla/5.0 desktop"}})
		}},
		{"stylesheet", func() page { return anon.get(in.URL + "/static/app.css") }},
		{"health", func() page { return anon.get(in.URL + "/healthz") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.get()
			h := p.Header
			csp := cspDirectives(h.Get("Content-Security-Policy"))
			if len(csp) == 0 {
				t.Fatalf("status %d without a Content-Security-Policy", p.Status)
			}
			scripts, ok := csp["script-src"]
			if !ok {
				scripts = csp["default-src"]
			}
			for _, src := range append(scripts, csp["default-src"]...) {
				switch strings.ToLower(src) {
				case "'unsafe-inline'", "'unsafe-eval'", "*", "data:", "https:", "http:":
					t.Fatalf("script sources allow %s: %s", src, h.Get("Content-Security-Policy"))
				}
			}
			if fa := csp["frame-ancestors"]; len(fa) != 1 || fa[0] != "'none'" {
				t.Fatalf("frame-ancestors %v", fa)
			}
			if o := csp["object-src"]; len(o) != 1 || o[0] != "'none'" {
				t.Fatalf("object-src %v", o)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatal("no X-Content-Type-Options: nosniff")
			}
			if h.Get("Referrer-Policy") != "no-referrer" {
				t.Fatalf("Referrer-Policy %q", h.Get("Referrer-Policy"))
			}
			if h.Get("Strict-Transport-Security") != "" {
				t.Fatal("HSTS over plain http")
			}
			if p.Status/100 != 3 && strings.HasPrefix(h.Get("Content-Type"), "text/html") && h.Get("Cache-Control") != "no-store" {
				t.Fatalf("HTML page cacheable: %q", h.Get("Cache-Control"))
			}
		})
	}
}

var (
	inlineScript = regexp.MustCompile(`(?is)<script\b[^>]*>\s*[^<\s]`)
	scriptTag    = regexp.MustCompile(`(?is)<script\b([^>]*)>`)
	eventAttr    = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	styleAttr    = regexp.MustCompile(`(?i)<[^>]+\sstyle\s*=`)
	urlAttr      = regexp.MustCompile(`(?i)\s(?:src|href|action|srcset|poster|data)\s*=\s*"([^"]*)"`)
	cssURL       = regexp.MustCompile(`(?i)url\(\s*['"]?([^'")]+)`)
)

// No page runs inline script or inline styles (the CSP forbids both), and
// the login-flow pages load nothing from another origin.
func TestPagesLoadNoInlineScriptOrThirdPartyContent(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	user := newBrowser(t)
	e.login(user, in, "zhangsan")
	pending := newBrowser(t)
	pendingCB := e.authorize(pending.entry(in, "/profile"), "zhangsan", "deny")
	anon := newBrowser(t)
	tests := []struct {
		name      string
		p         page
		avatarsOK bool // the profile shows the WeChat avatar, an https image
	}{
		{"home", anon.get(in.URL + "/"), false},
		{"profile", user.get(in.URL + "/profile"), true},
		{"callback bad state", anon.get(in.URL + "/wechat/callback?code=abc&state=0123456789abcdef0123456789abcdef"), false},
		{"callback bad request", anon.get(in.URL + "/wechat/callback?code=%3C&state=0123456789abcdef0123456789abcdef"), false},
		{"callback cancelled", pending.get(pendingCB), false},
		{"not found", anon.get(in.URL + "/nope"), false},
		{"open in WeChat", rawDo(t, http.MethodGet, in.URL+"/wechat/entry", "", nil, http.Header{"User-Agent": {"Mozilla/5.0 desktop"}}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.p.Body
			if !strings.Contains(body, "</html>") {
				t.Fatalf("status %d: not an HTML page", tt.p.Status)
			}
			if inlineScript.MatchString(body) {
				t.Fatal("inline script")
			}
			for _, m := range scriptTag.FindAllStringSubmatch(body, -1) {
				if !strings.Contains(m[1], "src=") {
					t.Fatalf("script without src: %s", m[0])
				}
			}
			if m := eventAttr.FindString(body); m != "" {
				t.Fatalf("inline event handler %q", m)
			}
			if m := styleAttr.FindString(body); m != "" {
				t.Fatalf("inline style attribute (blocked by the CSP): %.120q", m)
			}
			urls := urlAttr.FindAllStringSubmatch(body, -1)
			urls = append(urls, cssURL.FindAllStringSubmatch(body, -1)...)
			for _, m := range urls {
				u := m[1]
				local := u == "" || strings.HasPrefix(u, "#") || strings.HasPrefix(u, "data:") ||
					(strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//"))
				if local || strings.HasPrefix(u, "http://www.w3.org/") {
					continue
				}
				// The test simulator serves its avatars from 127.0.0.1 over http.
				if tt.avatarsOK && strings.HasPrefix(strings.TrimSpace(m[0]), "src=") && strings.HasPrefix(u, "http") {
					continue
				}
				t.Fatalf("page refers to another origin: %q", m[0])
			}
		})
	}
}
