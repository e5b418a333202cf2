package app

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"wxlogin/admin"
	"wxlogin/wechatsim"
)

// TestAdminPushesPage: the server configuration to paste (never the Token or
// key), followers, the tap → login funnel, the push log and its filters, and
// the user page's follow status and taps.
func TestAdminPushesPage(t *testing.T) {
	w := newAdminWorldWith(t, admin.Policy{}, pushVars(true))
	e, in := w.e, w.in
	e.configurePush(wechatsim.PushSafe, false, in)
	openid := ""
	for _, u := range e.Sim.Users() {
		if u.Key == "zhangsan" {
			openid = u.OpenID
		}
	}
	ctx := context.Background()
	entry := in.URL + "/wechat/entry?next=/profile"
	for _, ev := range []wechatsim.PushEvent{
		{OpenID: openid, Event: "subscribe", CreateTime: time.Now().Add(-2 * time.Second)},
		{OpenID: openid, Event: "VIEW", EventKey: entry, MenuID: "401", CreateTime: time.Now().Add(-time.Second)},
		{OpenID: "oSomeoneElse", MsgType: "text", Content: "<b>你好</b>", MsgID: 99},
	} {
		if res, err := e.Sim.Push(ctx, ev); err != nil || !res.Delivered {
			t.Fatalf("push %s: %+v %v", ev.Event, res, err)
		}
	}
	// The text message again, to another URL: a duplicate delivery.
	e.configurePush(wechatsim.PushSafe, false, in)
	e.Sim.Push(ctx, wechatsim.PushEvent{OpenID: "oSomeoneElse", MsgType: "text", Content: "<b>你好</b>", MsgID: 99})
	if p := e.login(newBrowser(t), in, "zhangsan"); p.Status != http.StatusFound {
		t.Fatalf("login: %d", p.Status)
	}
	if p := newBrowser(t).get(in.URL + "/wechat/notify?" + func() string {
		q := signedQuery(testPushToken, time.Now())
		q.Set("echostr", "ok1")
		return q.Encode()
	}()); p.Body != "ok1" {
		t.Fatalf("check: %d %q", p.Status, p.Body)
	}

	// Entries are flushed every 10 s; now, for the page. An earlier day is
	// seeded: 7 entries yesterday, no taps, no logins.
	if err := in.App.Entries.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	yesterday := beijingDay(w.clk.Now().AddDate(0, 0, -1))
	if err := in.App.DB.AddEntryCounts(ctx, map[string]int64{yesterday: 7}); err != nil {
		t.Fatal(err)
	}

	b, _ := w.loggedInAdmin()
	p := b.get(in.URL + "/admin/pushes")
	if p.Status != http.StatusOK {
		t.Fatalf("/admin/pushes: %d", p.Status)
	}
	for _, want := range []string{
		`id="notify-url">` + in.URL + `/wechat/notify<`, `已设置（WECHAT_TOKEN）`, `已设置（WECHAT_AES_KEY）`,
		`id="follower-count">1<`, `id="chart-follows"`, `id="chart-unfollows"`, `&lt;b&gt;你好&lt;/b&gt;`, `（菜单 401）`,
	} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("/admin/pushes lacks %q", want)
		}
	}
	if strings.Contains(p.Body, `id="last-check">还没有`) {
		t.Error("the valid check is not shown")
	}
	if strings.Contains(p.Body, testPushToken) || strings.Contains(p.Body, testPushAESKey) || strings.Contains(p.Body, "<b>你好") {
		t.Error("the page shows a secret or unescaped content")
	}
	// Taps, people tapping, entries, logins, tappers who logged in.
	funnel := regexp.MustCompile(`<tbody><tr><td>\d\d-\d\d</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td></tr><tr><td>(\d\d-\d\d)</td><td>(\d+)</td><td>\d+</td><td>(\d+)</td><td>(\d+)</td><td>\d+</td></tr>`).FindStringSubmatch(p.Body)
	if funnel == nil || funnel[1] != "1" || funnel[2] != "1" || funnel[3] != "1" || funnel[4] != "1" || funnel[5] != "1" {
		t.Errorf("funnel today: %v, want 1 tap, 1 person, 1 entry, 1 login, 1 tapper logged in", funnel)
	}
	if funnel == nil || funnel[6] != yesterday[5:] || funnel[7] != "0" || funnel[8] != "7" || funnel[9] != "0" {
		t.Errorf("funnel yesterday: %v, want %s with 0 taps, 7 entries, 0 logins", funnel, yesterday[5:])
	}
	rows := func(q string) int {
		t.Helper()
		p := b.get(in.URL + "/admin/pushes?" + q)
		if p.Status != http.StatusOK {
			t.Fatalf("?%s: %d", q, p.Status)
		}
		return strings.Count(p.Body, "<tr>\n      <td>")
	}
	filters := []struct {
		q    string
		want int
	}{
		{"", 3}, {"type=VIEW", 1}, {"type=subscribe", 1}, {"type=text", 1}, {"type=CLICK", 0},
		{"openid=" + openid, 2}, {"dups=1", 1}, {"dups=1&type=VIEW", 0},
	}
	for _, f := range filters {
		if got := rows(f.q); got != f.want {
			t.Errorf("?%s: %d rows, want %d", f.q, got, f.want)
		}
	}
	for _, bad := range []string{"type=DROP", "dups=2", "openid=" + strings.Repeat("o", 150), "type=VIEW&type=text", "page=0"} {
		if p := b.get(in.URL + "/admin/pushes?" + bad); p.Status != http.StatusBadRequest {
			t.Errorf("?%s: %d, want 400", bad, p.Status)
		}
	}
	var id int64
	if err := in.App.DB.SQL.QueryRow(`SELECT id FROM users WHERE openid = $1`, openid).Scan(&id); err != nil {
		t.Fatal(err)
	}
	up := b.get(in.URL + "/admin/users/" + fmtInt(int(id)))
	if !strings.Contains(up.Body, "已关注") || !strings.Contains(up.Body, entry) || !strings.Contains(up.Body, "（菜单 401）") {
		t.Errorf("user page lacks follow status or taps:\n%s", grepLines(up.Body, "follow"))
	}
	if p := newBrowser(t).get(in.URL + "/admin/pushes"); p.Status == http.StatusOK {
		t.Error("/admin/pushes without an admin session")
	}
}
