package app

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"wxlogin/admin"
)

// Every admin route, for everybody who is not a logged-in enabled admin,
// answers a redirect to the admin login (never the page, never a change);
// for an admin it answers the page (GET) or does the action (POST).
func TestAdminAccessControlOnEveryRoute(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	ctx := context.Background()

	// A WeChat user, logged in the normal way.
	wx := newBrowser(t)
	if p := w.e.login(wx, w.in, "zhangsan"); p.Status != http.StatusFound {
		t.Fatalf("user login: %d", p.Status)
	}
	uid := w.userID("zhangsan")
	// Their session cookie value, replayed under the admin cookie's name.
	forged := newBrowser(t)
	for _, c := range wx.jar.Cookies(mustURL(t, w.in.URL)) {
		if c.Name == cookieName {
			forged.jar.SetCookies(mustURL(t, w.in.URL+"/admin/"), []*http.Cookie{{Name: adminCookie, Value: c.Value, Path: "/admin"}})
		}
	}
	// Admins who were logged in and then disabled: through the command (which
	// also deletes their sessions), and by a bare flag flip (session rows kept).
	w.createAdmin("gone", adminPassword)
	disabled := newBrowser(t)
	if p := w.adminLogin(disabled, "gone", adminPassword); p.Status != http.StatusSeeOther {
		t.Fatalf("login gone: %d", p.Status)
	}
	goneToken := hiddenCSRF(t, disabled.get(w.in.URL+"/admin").Body)
	if err := w.db.SetAdminDisabled(ctx, "gone", true); err != nil {
		t.Fatal(err)
	}
	w.createAdmin("flipped", adminPassword)
	flipped := newBrowser(t)
	if p := w.adminLogin(flipped, "flipped", adminPassword); p.Status != http.StatusSeeOther {
		t.Fatalf("login flipped: %d", p.Status)
	}
	flippedToken := hiddenCSRF(t, flipped.get(w.in.URL+"/admin").Body)
	if err := w.db.Gorm.Exec("UPDATE admins SET disabled = TRUE WHERE username = 'flipped'").Error; err != nil {
		t.Fatal(err)
	}
	adm, token := w.loggedInAdmin()

	routes := admin.Routes()
	// Logout last: it ends the admin's session.
	sort.SliceStable(routes, func(i, j int) bool {
		return routes[i].Path != "/admin/logout" && routes[j].Path == "/admin/logout"
	})
	if len(routes) < 10 {
		t.Fatalf("only %d admin routes listed", len(routes))
	}
	path := func(r admin.Route) string {
		return w.in.URL + strings.ReplaceAll(r.Path, ":id", strconv.FormatInt(uid, 10))
	}

	outsiders := []struct {
		name  string
		b     *browser
		token string
	}{
		{"anonymous", newBrowser(t), ""},
		{"wechat user", wx, ""},
		{"wechat session under the admin cookie name", forged, ""},
		{"disabled admin", disabled, goneToken},
		{"admin disabled by flag only", flipped, flippedToken},
	}
	for _, o := range outsiders {
		for _, r := range routes {
			if r.Public {
				continue
			}
			var p page
			if r.Method == http.MethodGet {
				p = o.b.get(path(r))
			} else {
				p = postForm(o.b, path(r), url.Values{"csrf": {o.token}}, nil)
			}
			wantStatus := http.StatusFound
			if r.Method != http.MethodGet {
				wantStatus = http.StatusSeeOther
			}
			if p.Status != wantStatus || !strings.HasPrefix(p.Location, "/admin/login") || isAdminPage(p) {
				t.Errorf("%s: %s %s = %d %q, want %d to the admin login", o.name, r.Method, r.Path, p.Status, p.Location, wantStatus)
			}
		}
	}
	// Nothing the outsiders posted took effect.
	if u, _ := w.db.UserByID(ctx, uid); u.Disabled {
		t.Error("an outsider's POST disabled the user")
	}
	for _, action := range []string{"user_disable", "user_enable", "user_end_sessions", "user_refresh"} {
		if n := w.auditCount(action); n != 0 {
			t.Errorf("%d %s entries from outsiders", n, action)
		}
	}
	// The WeChat user is still logged in (end-sessions by outsiders did nothing).
	if p := wx.get(w.in.URL + "/profile"); p.Status != http.StatusOK {
		t.Errorf("WeChat user's profile after outsiders' POSTs: %d", p.Status)
	}
	// A disabled admin cannot log in again, with the right password.
	for _, name := range []string{"gone", "flipped"} {
		b := newBrowser(t)
		if p := w.adminLogin(b, name, adminPassword); p.Status != http.StatusUnauthorized || isAdminPage(p) {
			t.Errorf("login of disabled admin %s: %d %q, want 401", name, p.Status, p.Location)
		}
	}

	// The admin gets every page and every action.
	for _, r := range routes {
		if r.Public {
			continue
		}
		if r.Method == http.MethodGet {
			p := adm.get(path(r))
			if p.Status != http.StatusOK || !isAdminPage(p) {
				t.Errorf("admin: GET %s = %d", r.Path, p.Status)
			}
			continue
		}
		form := url.Values{"csrf": {token}}
		if strings.HasSuffix(r.Path, "/disable") || strings.HasSuffix(r.Path, "/end-sessions") {
			form.Set("confirm", "1") // the user actions that ask first, answered
		}
		p := postForm(adm, path(r), form, nil)
		if p.Status != http.StatusSeeOther || strings.HasPrefix(p.Location, "/admin/login?") {
			t.Errorf("admin: POST %s = %d %q, want 303 back to the page", r.Path, p.Status, p.Location)
		}
	}
	// The last route was logout: the admin's cookie opens nothing now.
	if p := adm.get(w.in.URL + "/admin"); p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/admin/login") {
		t.Errorf("after logout: %d %q", p.Status, p.Location)
	}
	for _, action := range []string{"user_disable", "user_enable", "user_end_sessions", "user_refresh", "logout"} {
		if n := w.auditCount(action); n != 1 {
			t.Errorf("%d %s audit entries, want 1", n, action)
		}
	}

	// The public routes: the form is there for anybody; a post without its
	// token is refused.
	anon := newBrowser(t)
	if p := anon.get(w.in.URL + "/admin/login"); p.Status != http.StatusOK || !strings.Contains(p.Body, `name="password"`) {
		t.Errorf("login form: %d", p.Status)
	}
	if p := postForm(newBrowser(t), w.in.URL+"/admin/login", url.Values{"username": {adminName}, "password": {adminPassword}}, nil); p.Status != http.StatusForbidden {
		t.Errorf("login without its token: %d, want 403", p.Status)
	}
}

// The admin session is its own: its own cookie on /admin only, HttpOnly, a
// new id at every login, idle and absolute timeouts on the server's clock.
func TestAdminSessionCookieRenewalAndTimeouts(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	b := newBrowser(t)
	p := w.adminLogin(b, adminName, adminPassword)
	c := setCookie(p, adminCookie)
	if c == nil || c.Path != "/admin" || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("admin cookie %+v: want Path=/admin, HttpOnly, SameSite=Lax", c)
	}
	if uc := setCookie(p, cookieName); uc != nil {
		t.Fatal("the admin login set the user session cookie")
	}
	first := adminCookie + "=" + c.Value

	// Logging in again (same browser) gives a new id; the old one is dead.
	p = w.adminLogin(b, adminName, adminPassword)
	c2 := setCookie(p, adminCookie)
	if c2 == nil || c2.Value == c.Value {
		t.Fatal("the session id was not renewed at login")
	}
	if p := rawGet(t, w.in.URL+"/admin", first); p.Status != http.StatusFound {
		t.Errorf("the pre-login id still opens the dashboard: %d", p.Status)
	}
	if p := rawGet(t, w.in.URL+"/admin", adminCookie+"="+c2.Value); p.Status != http.StatusOK {
		t.Fatalf("the new id: %d", p.Status)
	}

	// Idle: 30 minutes without a request end the session.
	w.clk.Advance(29 * time.Minute)
	if p := b.get(w.in.URL + "/admin"); p.Status != http.StatusOK {
		t.Fatalf("after 29 idle minutes: %d", p.Status)
	}
	w.clk.Advance(31 * time.Minute)
	if p := b.get(w.in.URL + "/admin"); p.Status != http.StatusFound {
		t.Fatalf("after 31 idle minutes: %d, want the login", p.Status)
	}

	// Absolute: 12 hours after login even an active session ends.
	w.adminLogin(b, adminName, adminPassword)
	for elapsed := time.Duration(0); elapsed < 12*time.Hour-20*time.Minute; elapsed += 20 * time.Minute {
		w.clk.Advance(20 * time.Minute)
		if p := b.get(w.in.URL + "/admin/users"); p.Status != http.StatusOK {
			t.Fatalf("active session %v after login: %d", elapsed+20*time.Minute, p.Status)
		}
	}
	w.clk.Advance(21 * time.Minute)
	if p := b.get(w.in.URL + "/admin/users"); p.Status != http.StatusFound {
		t.Fatalf("12 h after login: %d, want the login", p.Status)
	}
}

// Every state change needs a same-origin request and the session's token.
func TestAdminCSRF(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	ctx := context.Background()
	wx := newBrowser(t)
	w.e.login(wx, w.in, "zhangsan")
	uid := w.userID("zhangsan")
	adm, token := w.loggedInAdmin()
	_, otherToken := w.loggedInAdmin() // another session of the same admin
	target := w.in.URL + "/admin/users/" + strconv.FormatInt(uid, 10) + "/disable"

	cases := []struct {
		name string
		form url.Values
		hdr  http.Header
	}{
		{"cross-site (Fetch metadata)", url.Values{"csrf": {token}}, http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"same-site other origin", url.Values{"csrf": {token}}, http.Header{"Sec-Fetch-Site": {"same-site"}}},
		{"foreign Origin, no Fetch metadata", url.Values{"csrf": {token}}, http.Header{"Origin": {"https://evil.example"}}},
		{"no token", url.Values{}, nil},
		{"empty token", url.Values{"csrf": {""}}, nil},
		{"wrong token", url.Values{"csrf": {strings.Repeat("0", 64)}}, nil},
		{"another session's token", url.Values{"csrf": {otherToken}}, nil},
		{"token twice, first wrong", url.Values{"csrf": {"x", token}}, nil},
	}
	for _, tc := range cases {
		p := postForm(adm, target, tc.form, tc.hdr)
		if p.Status != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, p.Status)
		}
	}
	// GET never changes anything: it is the confirmation page.
	if p := adm.get(target); p.Status != http.StatusOK || !strings.Contains(p.Body, "停用这个用户？") {
		t.Errorf("GET on an action: %d, want the confirmation page", p.Status)
	}
	if u, _ := w.db.UserByID(ctx, uid); u.Disabled {
		t.Fatal("a refused request disabled the user")
	}
	if n := w.auditCount("user_disable"); n != 0 {
		t.Fatalf("%d audit entries for refused requests", n)
	}
	if p := wx.get(w.in.URL + "/profile"); p.Status != http.StatusOK {
		t.Fatalf("user logged out by a refused request: %d", p.Status)
	}
	// The same-origin form with its token works.
	if p := postForm(adm, target, url.Values{"csrf": {token}, "confirm": {"1"}}, http.Header{"Sec-Fetch-Site": {"same-origin"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("same-origin form: %d", p.Status)
	}
	if u, _ := w.db.UserByID(ctx, uid); !u.Disabled {
		t.Fatal("the valid request did not disable the user")
	}

	// The login form too: cross-site or without its token, refused.
	b := newBrowser(t)
	form := b.get(w.in.URL + "/admin/login")
	creds := url.Values{"csrf": {hiddenCSRF(t, form.Body)}, "username": {adminName}, "password": {adminPassword}}
	if p := postForm(b, w.in.URL+"/admin/login", creds, http.Header{"Sec-Fetch-Site": {"cross-site"}}); p.Status != http.StatusForbidden {
		t.Errorf("cross-site login: %d", p.Status)
	}
	bad := url.Values{"csrf": {strings.Repeat("1", 64)}, "username": {adminName}, "password": {adminPassword}}
	if p := postForm(b, w.in.URL+"/admin/login", bad, nil); p.Status != http.StatusForbidden || setCookie(p, adminCookie) != nil {
		t.Errorf("login with a wrong token: %d", p.Status)
	}
}
