package app

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"wxlogin/admin"
	"wxlogin/wechatsim"
)

var userLinkRe = regexp.MustCompile(`href="/admin/users/(\d+)"`)

// userIDsOn lists the user ids a list page links to, in order.
func userIDsOn(body string) []string {
	var out []string
	for _, m := range userLinkRe.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// Search and pagination over hundreds of users: bounded pages, literal
// matching of LIKE wildcards, and the same handful of SQL statements for a
// page of 10 as for a page of 100 (no query per row).
func TestAdminUserSearchAndPagination(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	ctx := context.Background()
	// 300 users: nickname "用户NNN", openid "oTESTNNN", unionid "uTESTNNN"
	// (every 3rd has none), created one minute apart; plus a few special ones.
	err := w.db.Gorm.WithContext(ctx).Exec(`INSERT INTO users (openid, unionid, nickname, created_at, updated_at, login_count)
	    SELECT 'oTEST' || lpad(i::text, 3, '0'),
	           CASE WHEN i % 3 = 0 THEN NULL ELSE 'uTEST' || lpad(i::text, 3, '0') END,
	           '用户' || lpad(i::text, 3, '0'),
	           now() - (i || ' minutes')::interval, now(), i
	    FROM generate_series(1, 300) AS i`).Error
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct{ openid, nick string }{
		{"oPCT", "五折50%优惠"}, {"oUND", "snake_case"}, {"oBSL", `back\slash`}, {"oALICE", "Alice Wang"},
	} {
		if err := w.db.Gorm.Exec(`INSERT INTO users (openid, nickname, created_at, updated_at) VALUES (?, ?, now(), now())`, u.openid, u.nick).Error; err != nil {
			t.Fatal(err)
		}
	}
	// Two live sessions and an expired one for user oTEST001: the list shows 2.
	var id1 int64
	w.db.Gorm.Raw("SELECT id FROM users WHERE openid = 'oTEST001'").Scan(&id1)
	for i, exp := range []time.Duration{time.Hour, time.Hour, -time.Hour} {
		err := w.db.Gorm.Exec(`INSERT INTO sessions (id_hash, kind, user_id, data, created_at, last_seen_at, expires_at)
		    VALUES (?, 'user', ?, ?, now(), now(), ?)`, "h"+strconv.Itoa(i), id1, []byte{}, w.clk.Now().Add(exp).UTC()).Error
		if err != nil {
			t.Fatal(err)
		}
	}
	adm, _ := w.loggedInAdmin()
	list := func(q string) page {
		t.Helper()
		p := adm.get(w.in.URL + "/admin/users" + q)
		if p.Status != http.StatusOK {
			t.Fatalf("GET /admin/users%s: %d", q, p.Status)
		}
		return p
	}

	cases := []struct {
		name, query string
		wantIDs     int
		wantText    []string
		wantNext    bool
	}{
		{"first page, default size", "", 50, []string{"共 304 条", "第 1 / 7 页"}, true},
		{"page 3 of 10 per page", "?size=10&page=3", 10, []string{"第 3 / 31 页", "第 21–30 条"}, true},
		{"last page", "?size=100&page=4", 4, []string{"第 4 / 4 页"}, false},
		{"nickname", "?q=" + url.QueryEscape("用户12"), 10, []string{"共 10 条", "用户129"}, false},
		{"openid", "?q=oTEST25", 10, []string{"共 10 条", "oTEST250"}, false},
		{"unionid exact", "?q=uTEST007", 1, []string{"共 1 条", "用户007"}, false},
		{"no unionid for multiples of 3", "?q=uTEST009", 0, []string{"没有找到"}, false},
		{"percent is literal", "?q=" + url.QueryEscape("%"), 1, []string{"五折50%优惠"}, false},
		{"underscore is literal", "?q=_", 1, []string{"snake_case"}, false},
		{"backslash is literal", "?q=" + url.QueryEscape(`\`), 1, []string{`back\slash`}, false},
		{"nickname in any case", "?q=aLiCe", 1, []string{"Alice Wang"}, false},
		{"quote does not break SQL", "?q=" + url.QueryEscape(`' OR 1=1 --`), 0, []string{"没有找到"}, false},
		{"search keeps q in page links", "?q=TEST&size=10", 10, []string{"q=TEST"}, true},
	}
	for _, tc := range cases {
		p := list(tc.query)
		if got := len(userIDsOn(p.Body)); got != tc.wantIDs {
			t.Errorf("%s: %d users shown, want %d", tc.name, got, tc.wantIDs)
		}
		for _, s := range tc.wantText {
			if !strings.Contains(p.Body, s) {
				t.Errorf("%s: page lacks %q", tc.name, s)
			}
		}
		if hasNext := strings.Contains(p.Body, `rel="next"`); hasNext != tc.wantNext {
			t.Errorf("%s: next link %v, want %v", tc.name, hasNext, tc.wantNext)
		}
	}
	// A page past the end goes to the last page, keeping the other
	// parameters, instead of an empty list that says there are no users.
	if p := adm.get(w.in.URL + "/admin/users?page=99"); p.Status != http.StatusFound || p.Location != "/admin/users?page=7" {
		t.Errorf("page 99: %d %q, want 302 to the last page", p.Status, p.Location)
	}
	if p := adm.get(w.in.URL + "/admin/users?q=TEST&size=100&page=99"); p.Status != http.StatusFound || p.Location != "/admin/users?page=3&q=TEST&size=100" {
		t.Errorf("page 99 of a search: %d %q", p.Status, p.Location)
	}
	// Numbered pages: the first, the last and two around the current one.
	if p := list("?size=10&page=10"); !strings.Contains(p.Body, `aria-current="page">10<`) ||
		!strings.Contains(p.Body, `href="/admin/users?page=31&amp;size=10"`) || !strings.Contains(p.Body, `href="/admin/users?page=12&amp;size=10"`) ||
		strings.Contains(p.Body, `href="/admin/users?page=13&amp;size=10"`) {
		t.Error("page 10 of 31 lacks its numbered links (1 … 8–12 … 31)")
	}
	// Sorting: by login count, first login, nickname; the order it says.
	firstNick := func(body string) string {
		t.Helper()
		i := strings.Index(body, `class="user-cell"`)
		if i < 0 {
			t.Fatal("no user row")
		}
		rest := body[i:]
		a, b := strings.Index(rest, "<span>")+len("<span>"), strings.Index(rest, "</span>")
		return rest[a:b]
	}
	for _, tc := range []struct{ q, first, sort string }{
		{"?sort=logins&dir=desc", "用户300", `aria-sort="descending"`},
		{"?sort=logins&dir=asc&q=TEST", "用户001", `aria-sort="ascending"`},
		{"?sort=first&dir=asc", "用户300", `aria-sort="ascending"`},
		{"?sort=first&dir=desc&q=TEST", "用户001", `aria-sort="descending"`},
		{"?sort=nickname&dir=asc&q=TEST", "用户001", `aria-sort="ascending"`},
	} {
		p := list(tc.q)
		if got := firstNick(p.Body); got != tc.first || !strings.Contains(p.Body, tc.sort) {
			t.Errorf("%s: first row %q (want %q), %s shown: %v", tc.q, got, tc.first, tc.sort, strings.Contains(p.Body, tc.sort))
		}
	}
	// A bad sort says so inline and keeps the search.
	if p := adm.get(w.in.URL + "/admin/users?q=TEST&sort=password"); p.Status != http.StatusBadRequest ||
		!strings.Contains(p.Body, "排序参数无效") || len(userIDsOn(p.Body)) != 50 || !strings.Contains(p.Body, `value="TEST"`) {
		t.Errorf("bad sort: %d, inline error %v, %d users", p.Status, strings.Contains(p.Body, "排序参数无效"), len(userIDsOn(p.Body)))
	}

	// Pages neither overlap nor skip: newest first.
	seen := map[string]bool{}
	for pg := 1; pg <= 31; pg++ {
		for _, id := range userIDsOn(list("?size=10&page=" + strconv.Itoa(pg)).Body) {
			if seen[id] {
				t.Fatalf("user %s on two pages", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != 304 {
		t.Fatalf("%d distinct users over all pages, want 304", len(seen))
	}
	if p := list("?q=oTEST001"); !strings.Contains(p.Body, "会话 2") {
		t.Error("the live session count of oTEST001 is not 2")
	}

	// Out-of-bounds input is a 400 page, never a 500 or an unbounded query.
	for _, q := range []string{"?size=101", "?size=0", "?page=0", "?page=-1", "?page=abc", "?page=100001",
		"?q=" + url.QueryEscape(strings.Repeat("长", 101)), "?q=a&q=b", "?q=%zz"} {
		if p := adm.get(w.in.URL + "/admin/users" + q); p.Status != http.StatusBadRequest {
			t.Errorf("GET /admin/users%s: %d, want 400", q, p.Status)
		}
	}

	// No N+1: the number of statements does not grow with the page size.
	small, sqlSmall := w.count.during(func() { list("?size=10") })
	big, sqlBig := w.count.during(func() { list("?size=100") })
	if small != big || big > 6 {
		t.Fatalf("statements for 10 rows: %d, for 100 rows: %d (want equal, at most 6)\n10: %q\n100: %q", small, big, sqlSmall, sqlBig)
	}
	t.Logf("statements per list page: %d", big)
	searched, _ := w.count.during(func() { list("?q=TEST&size=100") })
	if searched != big {
		t.Errorf("a search took %d statements, a plain page %d", searched, big)
	}
	// The login log and the user page are constant too.
	logSmall, _ := w.count.during(func() { adm.get(w.in.URL + "/admin/logins?size=5") })
	logBig, _ := w.count.during(func() { adm.get(w.in.URL + "/admin/logins?size=100") })
	if logSmall != logBig {
		t.Errorf("login log statements: %d for 5 rows, %d for 100", logSmall, logBig)
	}
}

// Disabling a user ends their live session at once: their old cookie no
// longer opens /profile, and they cannot log in until enabled again.
func TestAdminDisableEndsTheUsersSession(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	phone, tablet := newBrowser(t), newBrowser(t)
	w.e.login(phone, w.in, "zhangsan")
	w.e.login(tablet, w.in, "zhangsan")
	uid := w.userID("zhangsan")
	oldCookie := cookieName + "=" + phone.jarCookie(w.in)
	if p := rawGet(t, w.in.URL+"/profile", oldCookie); p.Status != http.StatusOK {
		t.Fatalf("profile before: %d", p.Status)
	}
	adm, token := w.loggedInAdmin()
	userPage := w.in.URL + "/admin/users/" + strconv.FormatInt(uid, 10)
	if p := adm.get(userPage); !strings.Contains(p.Body, "当前会话（2）") {
		t.Fatal("user page does not list the 2 live sessions")
	}

	// 停用用户 asks first: the user page links a confirmation page, and a
	// POST without confirm=1 (an old form, a stray click) only asks again.
	if p := adm.get(userPage); !strings.Contains(p.Body, `href="/admin/users/`+strconv.FormatInt(uid, 10)+`/disable"`) {
		t.Fatal("the user page does not lead to the disable confirmation")
	}
	if p := adm.get(userPage + "/disable"); p.Status != http.StatusOK || !strings.Contains(p.Body, "停用这个用户？") ||
		!strings.Contains(p.Body, `name="confirm" value="1"`) || !strings.Contains(p.Body, "2 个") {
		t.Fatalf("disable confirmation page: %d", p.Status)
	}
	if p := postForm(adm, userPage+"/disable", url.Values{"csrf": {token}}, nil); p.Status != http.StatusOK || !strings.Contains(p.Body, "停用这个用户？") {
		t.Fatalf("an unconfirmed disable: %d, want the confirmation page", p.Status)
	}
	if u, _ := w.db.UserByID(context.Background(), uid); u.Disabled || w.auditCount("user_disable") != 0 {
		t.Fatal("an unconfirmed POST disabled the user")
	}
	before, _ := w.db.UserByID(context.Background(), uid)
	p := postForm(adm, userPage+"/disable", url.Values{"csrf": {token}, "confirm": {"1"}}, nil)
	if p.Status != http.StatusSeeOther || p.Location != "/admin/users/"+strconv.FormatInt(uid, 10)+"?done=disabled" {
		t.Fatalf("disable: %d %q", p.Status, p.Location)
	}
	for name, b := range map[string]*browser{"phone": phone, "tablet": tablet} {
		if p := b.get(w.in.URL + "/profile"); p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/wechat/entry") {
			t.Errorf("%s: profile after disable: %d %q, want the login", name, p.Status, p.Location)
		}
	}
	if p := rawGet(t, w.in.URL+"/profile", oldCookie); p.Status != http.StatusFound {
		t.Errorf("the old cookie still opens /profile: %d", p.Status)
	}
	if p := adm.get(userPage + "?done=disabled"); !strings.Contains(p.Body, "已停用该用户") || !strings.Contains(p.Body, "当前会话（0）") {
		t.Error("user page after disable: no confirmation or sessions still listed")
	}
	// Logging in again does not get them in.
	again := newBrowser(t)
	w.e.login(again, w.in, "zhangsan")
	if p := again.get(w.in.URL + "/profile"); p.Status == http.StatusOK {
		t.Error("a disabled user logged in again")
	}
	// ... and the refused attempt is a refusal everywhere: no login counted,
	// the login log says 已拒绝, the dashboard counts it apart.
	if u, _ := w.db.UserByID(context.Background(), uid); u.LoginCount != before.LoginCount || !u.LastLoginAt.Equal(*before.LastLoginAt) {
		t.Errorf("the refused login moved 登录次数 %d→%d / 最近登录 %v→%v", before.LoginCount, u.LoginCount, before.LastLoginAt, u.LastLoginAt)
	}
	if p := adm.get(userPage); !strings.Contains(p.Body, "已拒绝") || !strings.Contains(p.Body, "用户已停用，登录被拒绝") {
		t.Error("the user's login log does not show the refusal")
	}
	if p := adm.get(w.in.URL + "/admin/logins?status=refused"); !strings.Contains(p.Body, "共 1 条") {
		t.Error("the login log's 已拒绝 filter does not list the refused attempt")
	}
	dash := adm.get(w.in.URL + "/admin")
	if !strings.Contains(dash.Body, `id="stat-refused-24h">1<`) || !strings.Contains(dash.Body, `id="stat-logins-24h">2<`) {
		t.Error("the dashboard counts the refused attempt as a login (want 2 logins, 1 refused)")
	}
	// Enabled again, they can.
	postForm(adm, userPage+"/enable", url.Values{"csrf": {token}}, nil) // enabling destroys nothing: no confirmation
	back := newBrowser(t)
	w.e.login(back, w.in, "zhangsan")
	if p := back.get(w.in.URL + "/profile"); p.Status != http.StatusOK {
		t.Fatalf("enabled user cannot log in: %d", p.Status)
	}

	// "End all sessions" logs them out everywhere without disabling.
	if p := postForm(adm, userPage+"/end-sessions", url.Values{"csrf": {token}}, nil); p.Status != http.StatusOK || !strings.Contains(p.Body, "结束这个用户的所有会话？") {
		t.Fatalf("an unconfirmed end-sessions: %d, want the confirmation page", p.Status)
	}
	p = postForm(adm, userPage+"/end-sessions", url.Values{"csrf": {token}, "confirm": {"1"}}, nil)
	if p.Status != http.StatusSeeOther || !strings.Contains(p.Location, "done=ended&n=1") {
		t.Fatalf("end sessions: %d %q", p.Status, p.Location)
	}
	if p := back.get(w.in.URL + "/profile"); p.Status != http.StatusFound {
		t.Errorf("profile after end-sessions: %d", p.Status)
	}
	// Every action is in the audit log with who, what, target and address.
	audit := adm.get(w.in.URL + "/admin/audit")
	for _, s := range []string{"停用用户", "启用用户", "结束用户会话", "user:" + strconv.FormatInt(uid, 10), adminName, "127.0.0.1"} {
		if !strings.Contains(audit.Body, s) {
			t.Errorf("audit page lacks %q", s)
		}
	}
	if p := adm.get(w.in.URL + "/admin/audit?action=user_disable"); strings.Count(p.Body, "停用用户</td>") != 1 {
		t.Error("audit filter by action")
	}
	// The target is linked by nickname, every action has a result, and the
	// filters combine: admin, action, target, date.
	if !strings.Contains(audit.Body, `<a class="audit-user" href="/admin/users/`+strconv.FormatInt(uid, 10)+`"><span class="ellipsis-inline">张三</span></a>`) ||
		!strings.Contains(audit.Body, "已停用，会话已全部结束") || !strings.Contains(audit.Body, "<td>成功</td>") {
		t.Error("audit page: target not linked by nickname, or a result missing")
	}
	if strings.Contains(audit.Body, "<td></td>") {
		t.Error("an audit row has an empty cell")
	}
	today := w.clk.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	for q, want := range map[string]int{
		"?admin=" + adminName + "&action=user_enable":              1,
		"?target=user:" + strconv.FormatInt(uid, 10):               3,
		"?from=" + today + "&to=" + today + "&action=user_disable": 1,
		"?to=2000-01-01": 0,
		"?admin=nobody":  0,
	} {
		p := adm.get(w.in.URL + "/admin/audit" + q)
		if p.Status != http.StatusOK || strings.Count(p.Body, "<tr>")-1 != want && !(want == 0 && strings.Contains(p.Body, "没有符合条件的记录")) {
			t.Errorf("audit%s: %d, %d rows, want %d", q, p.Status, strings.Count(p.Body, "<tr>")-1, want)
		}
	}
	// A bad filter value says what was wrong next to its field and keeps
	// the other filters; no bare 400 page.
	for q, say := range map[string]string{"?action=drop_tables&target=user:1": "没有这种操作", "?page=0&action=user_enable": "页码或每页条数无效",
		"?from=2026-13-01&action=user_enable": "日期格式应为"} {
		p := adm.get(w.in.URL + "/admin/audit" + q)
		if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, say) || !strings.Contains(p.Body, `<h1>操作日志</h1>`) {
			t.Errorf("audit%s: %d, inline %q: %v", q, p.Status, say, strings.Contains(p.Body, say))
		}
		if strings.Contains(q, "action=user_enable") && !strings.Contains(p.Body, `value="user_enable" selected`) {
			t.Errorf("audit%s: the valid action filter was dropped", q)
		}
	}
	// Unknown or malformed user ids are 404 pages.
	for _, id := range []string{"999999", "0", "-1", "abc", "1e3"} {
		if p := adm.get(w.in.URL + "/admin/users/" + id); p.Status != http.StatusNotFound {
			t.Errorf("user %s: %d, want 404", id, p.Status)
		}
		if p := postForm(adm, w.in.URL+"/admin/users/"+id+"/disable", url.Values{"csrf": {token}}, nil); p.Status != http.StatusNotFound {
			t.Errorf("disable user %s: %d, want 404", id, p.Status)
		}
	}
}

// "Refresh from WeChat" uses the stored refresh token; when WeChat refuses,
// the page says which errcode and what it means.
func TestAdminRefreshProfileFromWeChat(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	ctx := context.Background()
	w.e.login(newBrowser(t), w.in, "zhangsan")
	uid := w.userID("zhangsan")
	if err := w.db.Gorm.Exec("UPDATE users SET nickname = 'stale', city = '' WHERE id = ?", uid).Error; err != nil {
		t.Fatal(err)
	}
	adm, token := w.loggedInAdmin()
	userPage := w.in.URL + "/admin/users/" + strconv.FormatInt(uid, 10)
	before := w.e.Sim.Stats()

	p := postForm(adm, userPage+"/refresh", url.Values{"csrf": {token}}, nil)
	if p.Status != http.StatusSeeOther || !strings.HasSuffix(p.Location, "?done=refreshed") {
		t.Fatalf("refresh: %d %q", p.Status, p.Location)
	}
	u, _ := w.db.UserByID(ctx, uid)
	if u.Nickname != "张三" || u.ProfileUpdatedAt == nil {
		t.Fatalf("after refresh: nickname %q profile updated %v", u.Nickname, u.ProfileUpdatedAt)
	}
	if st := w.e.Sim.Stats(); st.Exchanges != before.Exchanges || st.UserInfoCalls != before.UserInfoCalls+1 {
		t.Errorf("WeChat calls: %+v → %+v, want one userinfo and no code exchange", before, st)
	}

	tests := []struct {
		name    string
		fault   string
		errcode int
		want    string
	}{
		{"refresh token expired", "refresh_token", 42002, "refresh_token 已过期"},
		{"refresh token invalid", "refresh_token", 40030, "refresh_token 无效"},
		{"userinfo refused", "userinfo", 48001, "接口未授权"},
	}
	for _, tc := range tests {
		w.e.Sim.SetFault(tc.fault, wechatsim.Fault{ErrCode: tc.errcode, Count: 3})
		p := postForm(adm, userPage+"/refresh", url.Values{"csrf": {token}}, nil)
		w.e.Sim.ClearFaults()
		want := "?wxerr=" + strconv.Itoa(tc.errcode)
		if p.Status != http.StatusSeeOther || !strings.HasSuffix(p.Location, want) {
			t.Errorf("%s: %d %q, want a redirect with %s", tc.name, p.Status, p.Location, want)
			continue
		}
		page := adm.get(w.in.URL + p.Location)
		if !strings.Contains(page.Body, strconv.Itoa(tc.errcode)) || !strings.Contains(page.Body, tc.want) {
			t.Errorf("%s: user page does not explain errcode %d", tc.name, tc.errcode)
		}
	}
	// A user without a stored refresh token.
	if err := w.db.Gorm.Exec("UPDATE users SET refresh_token_enc = NULL WHERE id = ?", uid).Error; err != nil {
		t.Fatal(err)
	}
	p = postForm(adm, userPage+"/refresh", url.Values{"csrf": {token}}, nil)
	if !strings.HasSuffix(p.Location, "?fail=notoken") {
		t.Errorf("no token: %q", p.Location)
	}
	if n := w.auditCount("user_refresh"); n != 5 {
		t.Errorf("%d user_refresh audit entries, want 5", n)
	}
	// The audit detail names the errcode, never a token.
	var details []string
	w.db.Gorm.Raw("SELECT detail FROM audit_log WHERE action = 'user_refresh' ORDER BY id").Scan(&details)
	if len(details) != 5 || details[0] != "成功" || !strings.Contains(details[1], "42002") {
		t.Errorf("audit details %q", details)
	}
}
