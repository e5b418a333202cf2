package app

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"wxlogin/admin"
)

// Hostile search input on the admin pages (SQL, LIKE and template
// metacharacters, control characters, markup) is a 200 or a 400 page, never
// a 500; it is echoed escaped and executes nothing. Hostile nicknames are
// escaped on the admin pages as on the user's.
func TestAdminHostileInputAndOutput(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	w.e.login(newBrowser(t), w.in, "xss")
	uid := w.userID("xss")
	adm, _ := w.loggedInAdmin()

	for _, q := range []string{
		`'; DROP TABLE users; --`, `" OR ""="`, `\'`, `%_%`, `' UNION SELECT openid FROM users --`,
		`{{.}}`, `{{template "layout" .}}`, `{{printf "%s" .}}`, `<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`,
		"a\x00b", "\xff\xfe", "a\r\nSet-Cookie: x=1", "\u202Eevil", strings.Repeat("长", 100), "$1", "${jndi:ldap://x}",
	} {
		p := adm.get(w.in.URL + "/admin/users?q=" + url.QueryEscape(q))
		if p.Status != http.StatusOK && p.Status != http.StatusBadRequest {
			t.Errorf("search %q: %d, want 200 or 400", q, p.Status)
			continue
		}
		for _, raw := range []string{"<script>alert(1)", "<img src=x"} {
			if strings.Contains(p.Body, raw) {
				t.Errorf("search %q: page contains %q unescaped", q, raw)
			}
		}
		if strings.Contains(p.Header.Get("Set-Cookie"), "x=1") {
			t.Errorf("search %q: header injection", q)
		}
	}
	// The login form: NUL or invalid UTF-8 in a field is a 4xx, not a
	// database error.
	for _, name := range []string{"ops\x00", "\xff"} {
		b := newBrowser(t)
		form := b.get(w.in.URL + "/admin/login")
		p := postForm(b, w.in.URL+"/admin/login", url.Values{"csrf": {hiddenCSRF(t, form.Body)}, "username": {name}, "password": {"x\x00"}}, nil)
		if p.Status < 400 || p.Status > 499 {
			t.Errorf("admin login as %q: %d, want 4xx", name, p.Status)
		}
	}
	var n int64
	if err := w.db.Gorm.Raw("SELECT count(*) FROM users").Scan(&n).Error; err != nil || n != 1 {
		t.Fatalf("users table after the searches: %d rows (%v)", n, err)
	}

	for _, path := range []string{"/admin/users", "/admin/users/" + strconv.FormatInt(uid, 10), "/admin/logins", "/admin"} {
		p := adm.get(w.in.URL + path)
		if p.Status != http.StatusOK {
			t.Fatalf("%s: %d", path, p.Status)
		}
		if strings.Contains(p.Body, `<script>alert("x")</script>`) {
			t.Errorf("%s: hostile nickname rendered as markup", path)
		}
		if path == "/admin/users" && !strings.Contains(p.Body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
			t.Errorf("%s: escaped nickname not shown", path)
		}
		if h := p.Header.Get("Content-Security-Policy"); !strings.Contains(h, "script-src 'self'") || strings.Contains(h, "unsafe-inline") {
			t.Errorf("%s: CSP %q", path, h)
		}
	}
}

// The user and admin sessions cannot stand in for each other: a user's
// cookie value under the admin cookie's name (or the reverse) is anonymous.
func TestUserAndAdminSessionsDoNotMix(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	user := newBrowser(t)
	w.e.login(user, w.in, "zhangsan")
	userValue := user.jarCookie(w.in)
	adm := newBrowser(t)
	p := w.adminLogin(adm, adminName, adminPassword)
	c := setCookie(p, adminCookie)
	if c == nil {
		t.Fatal("no admin cookie")
	}
	if p := rawGet(t, w.in.URL+"/admin", adminCookie+"="+userValue); p.Status != http.StatusFound {
		t.Fatalf("user cookie value as the admin cookie: %d, want the admin login", p.Status)
	}
	if loggedIn(t, w.in, c.Value) {
		t.Fatal("the admin cookie value opens a user session")
	}
	if p := rawGet(t, w.in.URL+"/admin", cookieName+"="+userValue); p.Status != http.StatusFound {
		t.Fatalf("a user session opens the admin pages: %d", p.Status)
	}
}
