package app

import (
	"context"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"wxlogin/admin"
	"wxlogin/wechatsim"
)

// menuForm builds the editor's fields: slots maps a prefix ("b0", "b0s1")
// to name, type, url, key, appid, pagepath.
func menuForm(csrf, action string, slots map[string][6]string) url.Values {
	f := url.Values{"csrf": {csrf}, "action": {action}}
	for p, v := range slots {
		for i, field := range []string{"name", "type", "url", "key", "appid", "pagepath"} {
			f.Set(p+"_"+field, v[i])
		}
	}
	return f
}

// Every WeChat limit is refused in the editor with a Chinese error next to
// its field, and nothing reaches WeChat: not the menu, not even a token fetch.
func TestAdminMenuValidation(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	adm, csrf := w.loggedInAdmin()
	ok := "https://example.com/wechat/entry?next=/profile"
	cases := []struct {
		name  string
		slots map[string][6]string
		extra url.Values
		field string // data-field of the expected error ("" = a form error)
		text  string
	}{
		{"empty menu", map[string][6]string{}, nil, "", "至少要有一个一级菜单"},
		{"name 17 bytes", map[string][6]string{"b0": {strings.Repeat("a", 17), "view", ok}}, nil, "b0_name", "16 字节，当前 17 字节"},
		{"name 6 CJK = 18 bytes", map[string][6]string{"b0": {"一二三四五六", "view", ok}}, nil, "b0_name", "当前 18 字节"},
		{"name 5 emoji = 20 bytes", map[string][6]string{"b0": {"🙂🙂🙂🙂🙂", "view", ok}}, nil, "b0_name", "当前 20 字节"},
		{"sub name 61 bytes", map[string][6]string{"b1": {"更多", "sub"}, "b1s0": {strings.Repeat("中", 20) + "a", "view", ok}}, nil, "b1s0_name", "60 字节，当前 61 字节"},
		{"key 129 bytes", map[string][6]string{"b0": {"客服", "click", "", strings.Repeat("k", 129)}}, nil, "b0_key", "128 字节"},
		{"click without key", map[string][6]string{"b0": {"客服", "click"}}, nil, "b0_key", "请填写 key"},
		{"url 1025 bytes", map[string][6]string{"b0": {"a", "view", "https://example.com/" + strings.Repeat("x", 1025-20)}}, nil, "b0_url", "1024 字节"},
		{"url http", map[string][6]string{"b0": {"a", "view", "http://example.com/"}}, nil, "b0_url", "https://"},
		{"url IP", map[string][6]string{"b0": {"a", "view", "https://10.0.0.1/"}}, nil, "b0_url", "IP 地址"},
		{"url javascript", map[string][6]string{"b2s4": {"a", "view", "javascript:alert(1)"}, "b2": {"x", "sub"}}, nil, "b2s4_url", "链接格式不对"},
		{"bad type", map[string][6]string{"b0": {"a", "location_select"}}, nil, "b0_type", "类型只能是"},
		{"no type", map[string][6]string{"b0": {"a", ""}}, nil, "b0_type", "请选择类型"},
		{"miniprogram appid", map[string][6]string{"b0": {"小程序", "miniprogram", ok, "", "wx123", "pages/index"}}, nil, "b0_appid", "wx 开头"},
		{"sub menu without subs", map[string][6]string{"b0": {"更多", "sub"}}, nil, "b0_type", "至少填写一个子菜单"},
		{"subs under a view", map[string][6]string{"b0": {"a", "view", ok}, "b0s0": {"b", "view", ok}}, nil, "b0s0_name", "不会发布"},
		{"fourth top-level button", map[string][6]string{"b0": {"a", "view", ok}, "b3": {"d", "view", ok}}, nil, "", "一级菜单最多 3 个"},
		{"sixth sub-button", map[string][6]string{"b0": {"m", "sub"}, "b0s0": {"a", "view", ok}, "b0s5": {"f", "view", ok}}, nil, "", "最多 5 个子菜单"},
		{"publish with errors", map[string][6]string{"b0": {strings.Repeat("名", 6), "view", ok}}, url.Values{"confirm": {"1"}}, "b0_name", "16 字节"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			action := "preview"
			if tc.extra != nil {
				action = "publish"
			}
			f := menuForm(csrf, action, tc.slots)
			for k, v := range tc.extra {
				f[k] = v
			}
			p := postForm(adm, w.in.URL+"/admin/menu", f, nil)
			if p.Status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422", p.Status)
			}
			if tc.field != "" {
				marker := `<p class="field-error" data-field="` + tc.field + `">`
				i := strings.Index(p.Body, marker)
				if i < 0 || !strings.Contains(p.Body[i:min(i+400, len(p.Body))], tc.text) {
					t.Fatalf("no error %q at field %s:\n%s", tc.text, tc.field, statusRe.FindString(p.Body))
				}
			} else if !strings.Contains(p.Body, `id="form-error">`+tc.text) && !strings.Contains(p.Body, tc.text) {
				t.Fatalf("no form error %q", tc.text)
			}
			if strings.Contains(p.Body, `id="confirm-publish"`) {
				t.Fatal("a menu with errors is offered for publishing")
			}
		})
	}
	st := w.e.Sim.Stats()
	if n := st.ByEndpoint["menu_create"] + st.ByEndpoint["stable_token"]; n != 0 {
		t.Fatalf("WeChat was called %d times for menus with errors", n)
	}
	if w.auditCount("menu_publish") != 0 {
		t.Fatal("an invalid menu was audited as published")
	}
}

// A valid menu is previewed, published only after the confirmation, read
// back equal (also one set in the MP backend), and deleted only with the
// box ticked; each call leaves an audit entry with the JSON and the answer.
func TestAdminMenuPublishReadBackDelete(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	adm, csrf := w.loggedInAdmin()
	slots := map[string][6]string{
		"b0":   {"我的🙂", "view", "https://example.com/wechat/entry?next=/profile&scope=snsapi_base"},
		"b1":   {"更多", "sub"},
		"b1s0": {"A&B <客服>", "click", "", "CONTACT"},
		"b1s1": {"小程序", "miniprogram", "https://example.com/", "", "wx0123456789abcdef", "pages/index/index"},
	}
	want := []wechatsim.MenuButton{
		{Type: "view", Name: "我的🙂", URL: "https://example.com/wechat/entry?next=/profile&scope=snsapi_base"},
		{Name: "更多", SubButtons: []wechatsim.MenuButton{
			{Type: "click", Name: "A&B <客服>", Key: "CONTACT"},
			{Type: "miniprogram", Name: "小程序", URL: "https://example.com/", AppID: "wx0123456789abcdef", PagePath: "pages/index/index"},
		}},
	}
	p := postForm(adm, w.in.URL+"/admin/menu", menuForm(csrf, "preview", slots), nil)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `id="confirm-publish"`) || !strings.Contains(p.Body, `id="menu-preview"`) {
		t.Fatalf("preview: %d", p.Status)
	}
	if w.e.Sim.Menu() != nil {
		t.Fatal("the preview published the menu")
	}
	// Publishing without the confirmation only previews again.
	p = postForm(adm, w.in.URL+"/admin/menu", menuForm(csrf, "publish", slots), nil)
	if w.e.Sim.Menu() != nil || !strings.Contains(p.Body, `id="confirm-publish"`) {
		t.Fatal("published without the confirmation")
	}
	f := menuForm(csrf, "publish", slots)
	f.Set("confirm", "1")
	p = postForm(adm, w.in.URL+"/admin/menu", f, nil)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "菜单已发布") {
		t.Fatalf("publish: %d\n%s", p.Status, statusRe.FindString(p.Body))
	}
	if got := w.e.Sim.Menu(); !reflect.DeepEqual(got, want) {
		t.Fatalf("published %+v, want %+v", got, want)
	}
	if w.auditCount("menu_publish") != 1 {
		t.Fatal("no audit entry for the publish")
	}
	var detail string
	if err := w.db.Gorm.Raw("SELECT detail FROM audit_log WHERE action = 'menu_publish'").Scan(&detail).Error; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(detail, `"name":"A&B <客服>"`) || !strings.Contains(detail, `"errcode":0`) {
		t.Fatalf("audit detail lacks the JSON sent or the answer: %s", detail)
	}

	// Read back: the live menu fills the editor; a menu set in the MP backend too.
	w.e.Sim.SetMenu([]wechatsim.MenuButton{{Type: "view", Name: "后台菜单", URL: "https://example.com/mp"}})
	p = postForm(adm, w.in.URL+"/admin/menu", url.Values{"csrf": {csrf}, "action": {"load"}}, nil)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `name="b0_name" value="后台菜单"`) {
		t.Fatalf("load: %d\n%s", p.Status, statusRe.FindString(p.Body))
	}
	w.e.Sim.SetMenu(want)
	p = postForm(adm, w.in.URL+"/admin/menu", url.Values{"csrf": {csrf}, "action": {"load"}}, nil)
	for _, s := range []string{`name="b0_name" value="我的🙂"`, `name="b1s0_name" value="A&amp;B &lt;客服&gt;"`, `name="b1s1_appid" value="wx0123456789abcdef"`} {
		if !strings.Contains(p.Body, s) {
			t.Fatalf("read back lacks %s", s)
		}
	}
	if w.auditCount("menu_read") != 2 {
		t.Fatal("reads are not audited")
	}

	// Delete only with the box ticked.
	p = postForm(adm, w.in.URL+"/admin/menu", url.Values{"csrf": {csrf}, "action": {"delete"}}, nil)
	if p.Status != http.StatusUnprocessableEntity || w.e.Sim.Menu() == nil {
		t.Fatalf("delete without confirmation: %d", p.Status)
	}
	p = postForm(adm, w.in.URL+"/admin/menu", url.Values{"csrf": {csrf}, "action": {"delete"}, "confirm_delete": {"1"}}, nil)
	if p.Status != http.StatusOK || w.e.Sim.Menu() != nil || w.auditCount("menu_delete") != 1 {
		t.Fatalf("delete: %d", p.Status)
	}
	// Without the CSRF token nothing happens.
	f.Set("csrf", strings.Repeat("0", 64))
	p = postForm(adm, w.in.URL+"/admin/menu", f, nil)
	if p.Status != http.StatusForbidden || w.e.Sim.Menu() != nil {
		t.Fatalf("publish with a wrong CSRF token: %d", p.Status)
	}
	if st := w.e.Sim.TokenStats(); st.StableNormal != 1 || st.Token != 0 {
		t.Fatalf("token fetches: %+v, want one stable_token call for all of it", st)
	}
}

// The 公众号 page shows the token's state, never the token; the force button
// needs its confirmation, counts against the limits and is audited.
func TestAdminAccountPage(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	adm, csrf := w.loggedInAdmin()
	p := adm.get(w.in.URL + "/admin/account")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "还没有获取过") || !strings.Contains(p.Body, "20 / 20") {
		t.Fatalf("account page before any token: %d", p.Status)
	}
	tok, err := w.in.App.Tokens.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	p = adm.get(w.in.URL + "/admin/account")
	if !strings.Contains(p.Body, `id="token-instance">a<`) || !strings.Contains(p.Body, "有效") || strings.Contains(p.Body, tok.Value) {
		t.Fatalf("account page: %s", statusRe.FindString(p.Body))
	}
	p = postForm(adm, w.in.URL+"/admin/account/force-refresh", url.Values{"csrf": {csrf}}, nil)
	if p.Status != http.StatusSeeOther || !strings.Contains(p.Location, "unconfirmed") || w.e.Sim.TokenStats().StableForced != 0 {
		t.Fatalf("force without confirmation: %d %s", p.Status, p.Location)
	}
	p = postForm(adm, w.in.URL+"/admin/account/force-refresh", url.Values{"csrf": {csrf}, "confirm": {"1"}}, nil)
	if !strings.Contains(p.Location, "done=forced") || w.e.Sim.TokenStats().StableForced != 1 {
		t.Fatalf("force: %d %s", p.Status, p.Location)
	}
	p = postForm(adm, w.in.URL+"/admin/account/force-refresh", url.Values{"csrf": {csrf}, "confirm": {"1"}}, nil)
	if !strings.Contains(p.Location, "too_soon") || w.e.Sim.TokenStats().StableForced != 1 || w.e.Sim.TokenStats().ForceRefused != 0 {
		t.Fatalf("second force inside 30 s: %s %+v", p.Location, w.e.Sim.TokenStats())
	}
	p = adm.get(w.in.URL + p.Location)
	if !strings.Contains(p.Body, "19 / 20") || !strings.Contains(p.Body, "（强制刷新）") {
		t.Fatalf("after a force: %s", statusRe.FindString(p.Body))
	}
	if w.auditCount("token_force") != 2 {
		t.Fatal("forced refreshes are not audited")
	}
	// 40164 on the page, with the IP to whitelist.
	w.e.Sim.KillToken(wechatsim.KillForce)
	w.e.Sim.SetFault("stable_token", wechatsim.Fault{ErrCode: 40164})
	_ = w.in.App.Tokens.Do(t.Context(), func(ctx context.Context, token string) error {
		return w.in.App.WeChat.DeleteMenu(ctx, token)
	})
	p = adm.get(w.in.URL + "/admin/account")
	if !strings.Contains(p.Body, "40164") || !strings.Contains(p.Body, "203.0.113.7") {
		t.Fatalf("40164 not shown with the IP: %s", statusRe.FindString(p.Body))
	}
}
