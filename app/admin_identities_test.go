package app

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"wxlogin/admin"
	"wxlogin/wechatsim"
)

// The admin user page lists a person's identities and how they were linked;
// the user list filters by app. A person who logs in on the web and in the
// mini program (same unionid) is one user with two identities; a person
// without a unionid is two users.
func TestAdminShowsIdentitiesAndFiltersByApp(t *testing.T) {
	w := newAdminWorldWith(t, admin.Policy{}, map[string]string{
		"WECHAT_MINI_APPID": wechatsim.DefaultMiniAppID, "WECHAT_MINI_SECRET": wechatsim.DefaultMiniSecret})
	e, in := w.e, w.in
	for _, user := range []string{"zhangsan", "nounion"} {
		e.login(newBrowser(t), in, user)
		if a := miniLogin(t, in, e.miniCode(user)); a.Status != 200 {
			t.Fatalf("mini login of %s: %d %s", user, a.Status, a.Body)
		}
	}
	if a := miniLogin(t, in, e.miniCode("emoji")); a.Status != 200 { // mini program only
		t.Fatalf("mini login: %d %s", a.Status, a.Body)
	}
	adm, _ := w.loggedInAdmin()
	get := func(path string) page {
		t.Helper()
		p := adm.get(in.URL + path)
		if p.Status != http.StatusOK {
			t.Fatalf("GET %s: %d", path, p.Status)
		}
		return p
	}
	zs := get("/admin/users/" + strconv.FormatInt(w.userID("zhangsan"), 10))
	for _, want := range []string{`id="identities"`, "公众号", "小程序", e.user("zhangsan").OpenID, e.user("zhangsan").MiniOpenID,
		"首个身份", "按 unionid 关联到已有用户"} {
		if !strings.Contains(zs.Body, want) {
			t.Fatalf("zhangsan's page lacks %q", want)
		}
	}
	nu := get("/admin/users/" + strconv.FormatInt(w.userID("nounion"), 10))
	if strings.Contains(nu.Body, e.user("nounion").MiniOpenID) || strings.Count(nu.Body, "首个身份") != 1 {
		t.Fatal("nounion's web user shows the mini program identity (no unionid: two users)")
	}
	tests := []struct {
		query string
		want  int
	}{
		{"", 4},          // zhangsan, nounion (web), nounion (mini), emoji (mini)
		{"?app=oa", 2},   // zhangsan, nounion (web)
		{"?app=mini", 3}, // zhangsan, nounion (mini), emoji
		{"?q=" + e.user("emoji").MiniOpenID, 1},
	}
	for _, tt := range tests {
		if got := len(userIDsOn(get("/admin/users" + tt.query).Body)); got != tt.want {
			t.Fatalf("/admin/users%s: %d users, want %d", tt.query, got, tt.want)
		}
	}
	if p := adm.get(in.URL + "/admin/users?app=web"); p.Status != http.StatusBadRequest {
		t.Fatalf("unknown app: %d", p.Status)
	}
}
