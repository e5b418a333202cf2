package app

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"wxlogin/admin"
	"wxlogin/models"
	"wxlogin/wechatsim"
)

// The person of issue 15's gap, through the HTTP app and the simulator,
// with WECHAT_SCOPE=auto: they log in in the mini program first (user M),
// then open the Official Account, whose silent snsapi_base login carries no
// unionid (a second user W: nothing says yet they are one person), then tap
// 分享昵称和头像, and WeChat gives W's openid the unionid M holds. From then
// on they are one user: the web user's id, both identities, the web cookie
// session and the mini program's bearer token both still working, the mini
// program code's claim row moved (a duplicate of it is answered for the
// survivor), the login counted once per login, M's admin page a 404.
func TestSilentWebLoginThenShareMergesWithMiniProgramUser(t *testing.T) {
	w := newAdminWorldWith(t, admin.Policy{}, map[string]string{"WECHAT_SCOPE": "auto",
		"WECHAT_MINI_APPID": wechatsim.DefaultMiniAppID, "WECHAT_MINI_SECRET": wechatsim.DefaultMiniSecret})
	e, in := w.e, w.in
	countUsers := func() int64 {
		t.Helper()
		var n int64
		if err := w.db.Gorm.Raw(`SELECT COUNT(*) FROM users`).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}

	// 1. The mini program.
	code := e.miniCode("zhangsan")
	mini := miniLogin(t, in, code)
	if mini.Status != http.StatusOK || mini.str("token") == "" {
		t.Fatalf("mini login: %d %s", mini.Status, mini.Body)
	}
	miniID, token := int64(mini.userID()), mini.str("token")

	// 2. The Official Account's silent login: a second user.
	b := newBrowser(t)
	auth := b.entry(in, "/profile")
	if !strings.Contains(auth, "scope=snsapi_base") {
		t.Fatalf("the first web login is not silent: %s", redact(auth))
	}
	if p := b.get(e.authorize(auth, "zhangsan", "allow")); p.Status != http.StatusFound || p.Location != "/profile" {
		t.Fatalf("silent login: %d %q", p.Status, p.Location)
	}
	webID := w.userID("zhangsan")
	if webID == miniID || countUsers() != 2 {
		t.Fatalf("after the silent login: web user %d, mini user %d, %d users; want two users", webID, miniID, countUsers())
	}

	// 3. 分享昵称和头像: snsapi_userinfo, and the unionid.
	share := b.get(in.URL + "/wechat/entry?next=/profile&scope=snsapi_userinfo&refresh=1")
	if share.Status != http.StatusFound || !strings.Contains(share.Location, "scope=snsapi_userinfo") {
		t.Fatalf("share: %d %q", share.Status, redact(share.Location))
	}
	if p := b.get(e.authorize(share.Location, "zhangsan", "allow")); p.Status != http.StatusFound || p.Location != "/profile" {
		t.Fatalf("share's callback: %d %q", p.Status, p.Location)
	}

	if n := countUsers(); n != 1 {
		t.Fatalf("%d users after WeChat gave the web identity the mini program's unionid, want 1", n)
	}
	u, err := w.db.UserByID(context.Background(), webID)
	if err != nil {
		t.Fatalf("the web user after the merge: %v", err)
	}
	if u.LoginCount != 2 || u.Nickname != "张三" {
		t.Fatalf("merged user: %d logins (want 2: the share is none), nickname %q", u.LoginCount, u.Nickname)
	}
	if prof := b.get(in.URL + "/profile"); prof.Status != http.StatusOK || !strings.Contains(prof.Body, "张三") {
		t.Fatalf("the web session after the merge: %d", prof.Status)
	}
	if a := me(t, in, token); a.Status != http.StatusOK || int64(jsonNumber(a.JSON["id"])) != webID {
		t.Fatalf("the mini program's token after the merge: %d %s (want user %d)", a.Status, a.Body, webID)
	}
	if again := miniLogin(t, in, code); again.Status != http.StatusOK || int64(again.userID()) != webID {
		t.Fatalf("a duplicate of the mini program's code after the merge: %d %s (want user %d)", again.Status, again.Body, webID)
	}
	if fresh := miniLogin(t, in, e.miniCode("zhangsan")); fresh.Status != http.StatusOK || int64(fresh.userID()) != webID {
		t.Fatalf("a new mini program login after the merge: %d %s", fresh.Status, fresh.Body)
	}

	adm, _ := w.loggedInAdmin()
	page := adm.get(in.URL + "/admin/users/" + strconv.FormatInt(webID, 10))
	if page.Status != http.StatusOK {
		t.Fatalf("the survivor's admin page: %d", page.Status)
	}
	for _, want := range []string{e.user("zhangsan").OpenID, e.user("zhangsan").MiniOpenID, "首个身份", "按 unionid 关联到已有用户"} {
		if !strings.Contains(page.Body, want) {
			t.Fatalf("the survivor's admin page lacks %q", want)
		}
	}
	if p := adm.get(in.URL + "/admin/users/" + strconv.FormatInt(miniID, 10)); p.Status != http.StatusNotFound {
		t.Fatalf("the merged-away user's admin page: %d, want 404", p.Status)
	}
	audit := adm.get(in.URL + "/admin/audit?action=" + models.AuditUserMerge)
	if audit.Status != http.StatusOK || !strings.Contains(audit.Body, "合并用户") || !strings.Contains(audit.Body, models.SystemActor) {
		t.Fatalf("the audit log does not show the merge: %d", audit.Status)
	}
}

// jsonNumber reads a JSON number (float64 after encoding/json).
func jsonNumber(v any) float64 { f, _ := v.(float64); return f }
