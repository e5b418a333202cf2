package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"
)

// phone320 is the narrowest phone the pages are made for.
var phone320 = device{iPhoneSafariUA, 320, 568, true}

const (
	e2eAdmin    = "ops"
	e2eAdminPwd = "correct horse battery staple"
)

// seedAdminData stores an admin, 120 users (one with a very long nickname)
// and a login log with every outcome: logins, a disabled user's refused
// attempt, a snapshot-page visitor, WeChat without an answer, a rejected code.
func seedAdminData(t *testing.T, s *server) {
	t.Helper()
	ctx := context.Background()
	hash, err := bcrypt.GenerateFromPassword([]byte(e2eAdminPwd), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.DB.CreateAdmin(ctx, e2eAdmin, string(hash)); err != nil {
		t.Fatal(err)
	}
	db := s.App.DB.Gorm.WithContext(ctx)
	steps := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO users (openid, nickname, created_at, updated_at, last_login_at, login_count)
		  SELECT 'oE2E' || lpad(i::text, 4, '0'), '用户' || lpad(i::text, 3, '0'),
		         now() - (i || ' hours')::interval, now(), now() - (i || ' minutes')::interval, i % 17
		  FROM generate_series(1, 120) AS i`, nil},
		{`INSERT INTO users (openid, nickname, created_at, updated_at, login_count, disabled)
		  VALUES ('oLONG', ?, now(), now(), 3, FALSE), ('oGONE', '已停用的人', now(), now(), 2, TRUE)`,
			[]any{strings.Repeat("很长很长的微信昵称", 6) + "🐱"}},
		{`INSERT INTO code_exchanges (code_hash, state_hash, browser_hash, status, owner, lease_until, duplicates,
		        errcode, error_kind, user_id, openid, created_at, updated_at, finished_at)
		  SELECT 'c' || i, 's' || i, 'b', v.status, 'instance-a', now(), v.dups, v.errcode, v.kind,
		         (SELECT id FROM users WHERE openid = v.openid), v.openid,
		         now() - (i || ' minutes')::interval, now(), now()
		  FROM generate_series(1, 6) AS i
		  JOIN (VALUES (1, 'done', 1, NULL::int, NULL, 'oE2E0001'), (2, 'done', 0, NULL, NULL, 'oLONG'),
		               (3, 'done', 0, NULL, 'disabled', 'oGONE'), (4, 'failed', 0, 0, 'snapshot', NULL),
		               (5, 'failed', 0, 0, 'unavailable', NULL), (6, 'failed', 0, 40163, 'rejected', NULL))
		    AS v(n, status, dups, errcode, kind, openid) ON v.n = i`, nil},
	}
	for _, st := range steps {
		if err := db.Exec(st.sql, st.args...).Error; err != nil {
			t.Fatal(err)
		}
	}
}

// adminPage checks an admin page as every page is checked (checkPage:
// headings, names, touch targets, no sideways scrolling at 320 and 1280 px,
// AA contrast) and that the tab reported nothing wrong.
func (b *browser) adminPage(name string) {
	b.t.Helper()
	b.checkPage(name)
	b.checkClean()
}

// An operator uses the admin pages at a desktop (1280 px) and on phones
// (375 and 320 px): logs in, reads the dashboard, sorts and pages the users,
// disables a user after confirming (and cancels once first), filters the
// login log (a bad value is said inline and the rest kept), reads the
// audit log and opens the menu editor, the account and the pushes pages.
// Every page: no console error, CSP violation or failed
// request, nothing wider than the screen, contrast at least WCAG AA.
func TestAdminPagesInBrowser(t *testing.T) {
	for _, tt := range []struct {
		name string
		dev  device
	}{
		{"desktop", desktopPC},
		{"phone", safariPhone},
		{"phone320", phone320},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, production)
			seedAdminData(t, s)
			b := newBrowser(t, tt.dev)
			shot := func(page string) { b.shot("admin-" + page + "-" + tt.name) }

			b.open(s.URL+"/admin/users", "/admin/login")
			b.run(chromedp.SendKeys(`#username`, e2eAdmin), chromedp.SendKeys(`#password`, e2eAdminPwd))
			if strings.Contains(b.text("main"), "5 次") {
				t.Error("the login page publishes the lockout thresholds")
			}
			b.adminPage("admin-login")
			b.tap(`form.form button[type=submit]`, "/admin/users")

			// Dashboard: a refusal and a snapshot visitor are not logins, and
			// no failure reads "0 · 成功".
			b.open(s.URL+"/admin", "/admin")
			if got := b.text("#stat-logins-24h"); got != "2" {
				t.Errorf("dashboard logins %s, want 2 (the refused attempt is not one)", got)
			}
			if got := b.text("#stat-refused-24h"); got != "1" {
				t.Errorf("dashboard refused %s, want 1", got)
			}
			fails := b.text("#failures")
			if strings.Contains(fails, "成功") || strings.Contains(fails, "快照") || !strings.Contains(fails, "微信无应答") {
				t.Errorf("failure table: %q", fails)
			}
			shot("dashboard")
			b.adminPage("dashboard")
			if tt.name == "desktop" {
				b.checkDark("admin-dashboard")
			}

			// Users: a table that sorts and pages; a long nickname ellipsizes.
			b.open(s.URL+"/admin/users", "/admin/users")
			b.tap(`th a.sort-link[href*="sort=logins"]`, "/admin/users")
			if u := b.url(); !strings.Contains(u, "sort=logins") || !strings.Contains(u, "dir=desc") {
				t.Fatalf("sorting by 登录次数 went to %s", u)
			}
			counts := eval[[]string](b, `[...document.querySelectorAll('#user-table tbody tr td.num')].map(td => td.textContent.trim())`)
			for i := 1; i < len(counts); i++ {
				if atoi(counts[i]) > atoi(counts[i-1]) {
					t.Fatalf("not sorted by 登录次数, descending: %v", counts)
				}
			}
			if eval[string](b, `document.querySelector('th[aria-sort]').textContent`) == "" {
				t.Error("the sorted column does not say so (aria-sort)")
			}
			b.tap(`.pages a[aria-label="第 2 页"]`, "/admin/users")
			if u := b.url(); !strings.Contains(u, "page=2") || !strings.Contains(u, "sort=logins") {
				t.Errorf("page 2 lost the order: %s", u)
			}
			shot("users")
			b.adminPage("users")
			b.open(s.URL+"/admin/users?page=99", "/admin/users")
			if !strings.Contains(b.url(), "page=3") || !strings.Contains(b.text("#user-table"), "用户") {
				t.Errorf("page 99 shows %s, want the last page (3) with users", b.url())
			}
			b.open(s.URL+"/admin/users?q=oLONG", "/admin/users")
			if eval[bool](b, `(() => { const e = document.querySelector('.user-cell span'); return e.scrollWidth <= e.clientWidth })()`) {
				t.Error("the long nickname is not ellipsized")
			}
			b.adminPage("users-long-name")

			// A user's page: 停用用户 asks first; 取消 changes nothing.
			uidPath := eval[string](b, `document.querySelector('a.user-cell').getAttribute('href')`)
			b.tap(`a.user-cell`, uidPath)
			b.tap(`#action-disable`, uidPath+"/disable")
			shot("confirm")
			b.adminPage("confirm-disable")
			b.tap(`#confirm-no`, uidPath)
			if got := b.text("#user-state"); got != "正常" {
				t.Fatalf("cancelling disabled the user: %q", got)
			}
			b.tap(`#action-disable`, uidPath+"/disable")
			b.tap(`#confirm-yes`, uidPath)
			if got := b.text("#user-state"); got != "已停用" {
				t.Fatalf("confirming did not disable: %q", got)
			}
			shot("user")
			b.adminPage("user")

			// Login log: filters; a bad value is said inline, the rest kept.
			b.open(s.URL+"/admin/logins", "/admin/logins")
			b.run(chromedp.SetValue(`select[name=status]`, "failed"))
			b.tap(`form.filters button[type=submit]`, "/admin/logins")
			rows := b.text("#exchanges tbody")
			if strings.Contains(rows, "成功") || strings.Contains(rows, "快照页访客") || !strings.Contains(rows, "微信无应答") || !strings.Contains(rows, "40163") {
				t.Errorf("失败 lists %q", rows)
			}
			b.open(s.URL+"/admin/logins?status=failed&errcode=abc", "/admin/logins")
			if !strings.Contains(b.text("#err-errcode"), "错误码应为整数") ||
				eval[string](b, `document.querySelector('select[name=status]').value`) != "failed" {
				t.Error("a bad errcode is not said inline, or the status filter was dropped")
			}
			b.adminPage("logins-bad-filter")
			b.open(s.URL+"/admin/logins?status=refused", "/admin/logins")
			if rows := b.text("#exchanges tbody"); !strings.Contains(rows, "已拒绝") || strings.Contains(rows, "成功") {
				t.Errorf("已拒绝 lists %q", rows)
			}
			shot("logins")
			b.adminPage("logins")

			// Audit log: the disable, its target linked by nickname, filtered.
			b.open(s.URL+"/admin/audit?action=user_disable", "/admin/audit")
			if got := b.text("#audit tbody"); !strings.Contains(got, "停用用户") || !strings.Contains(got, "已停用") {
				t.Errorf("audit: %q", got)
			}
			if n := eval[int](b, `document.querySelectorAll('#audit a.audit-user').length`); n != 1 {
				t.Errorf("%d linked targets, want 1", n)
			}
			shot("audit")
			b.adminPage("audit")

			// The Official Account's pages: the menu editor (its page
			// picker must fit at 320 px), the account's token, the pushes.
			for _, page := range []string{"menu", "account", "pushes"} {
				b.open(s.URL+"/admin/"+page, "/admin/"+page)
				if b.lastStatus() != 200 {
					t.Errorf("/admin/%s: %d", page, b.lastStatus())
				}
				shot(page)
				b.adminPage(page)
			}

			// An unknown admin page is a 404 inside the admin layout.
			b.open(s.URL+"/admin/nope", "/admin/nope")
			if b.lastStatus() != 404 || eval[int](b, `document.querySelectorAll('nav.admin-nav').length`) != 1 {
				t.Errorf("/admin/nope: %d, in the admin layout: %v", b.lastStatus(), eval[int](b, `document.querySelectorAll('nav.admin-nav').length`))
			}
			b.checkPage("admin-404")
		})
	}
}

func atoi(s string) int {
	var n int
	_, _ = fmt.Sscan(s, &n)
	return n
}
