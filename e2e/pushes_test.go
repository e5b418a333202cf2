package e2e

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"golang.org/x/crypto/bcrypt"
)

// TestFollowTapMenuLogIn: in the simulator, a follower follows the account,
// taps the menu's entry (WeChat pushes VIEW, then opens the URL) and logs
// in; the pushes are stored and the follow status kept.
func TestFollowTapMenuLogIn(t *testing.T) {
	s := startServer(t, simulator)
	b := newBrowser(t, wechatPhone)
	b.open(s.URL+"/_sim/push?user=zhangsan", "/_sim/push")
	b.shot("sim-push")
	b.tap(`#follow`, "/_sim/push")
	if got := b.text("main"); !strings.Contains(got, "subscribe") || !strings.Contains(got, "取消关注") {
		t.Fatalf("after following the push page shows %q", got)
	}
	b.tap(`#tap`, consentPath)
	b.choose("user", "zhangsan")
	b.choose("double", "off")
	b.tap(`button[value="allow"]`, "/profile")
	if st := b.lastStatus(); st != http.StatusOK {
		t.Fatalf("profile status %d", st)
	}
	b.checkClean()

	ctx := context.Background()
	var openid string
	for _, u := range s.Sim.Users() {
		if u.Key == "zhangsan" {
			openid = u.OpenID
		}
	}
	fs, err := s.App.DB.FollowOf(ctx, openid)
	if err != nil || !fs.Followed {
		t.Errorf("follow status after the browser followed: %+v %v", fs, err)
	}
	taps, err := s.App.DB.RecentTaps(ctx, openid, 5)
	if err != nil || len(taps) != 1 || !strings.HasPrefix(taps[0].EventKey, s.URL+"/wechat/entry") || taps[0].MenuID != "100" {
		t.Errorf("menu taps: %+v %v", taps, err)
	}
	var logins int
	if err := s.App.DB.SQL.QueryRow(`SELECT COUNT(*) FROM code_exchanges WHERE openid = $1 AND status = 'done'`, openid).Scan(&logins); err != nil || logins != 1 {
		t.Errorf("%d completed logins for the follower (%v), want 1", logins, err)
	}

	// The admin sees it: the funnel (1 tap, 1 person, 1 entry, 1 login, 1
	// tapper logged in today; the entry flushed now rather than in 10 s) and
	// the follower's status and tap on the user page.
	if err := s.App.Entries.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("Tea-Kettle-Orbit-42"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.DB.CreateAdmin(ctx, "ops", string(hash)); err != nil {
		t.Fatal(err)
	}
	ad := newBrowser(t, desktopPC)
	ad.open(s.URL+"/admin/login", "/admin/login")
	ad.run(chromedp.SendKeys("#username", "ops"), chromedp.SendKeys("#password", "Tea-Kettle-Orbit-42"))
	ad.tap(`form button[type="submit"]`, "/admin")
	ad.open(s.URL+"/admin/pushes", "/admin/pushes")
	funnel := ad.text("#funnel-table tbody tr")
	if !regexp.MustCompile(`^\d\d-\d\d\s+1\s+1\s+1\s+1\s+1$`).MatchString(strings.TrimSpace(funnel)) {
		t.Errorf("today's funnel row %q, want 1 tap, 1 person, 1 entry, 1 login, 1 tapper logged in", funnel)
	}
	if got := ad.text("#follower-count"); got != "1" {
		t.Errorf("followers %q, want 1", got)
	}
	ad.shot("admin-pushes")
	var id int64
	if err := s.App.DB.SQL.QueryRow(`SELECT id FROM users WHERE openid = $1`, openid).Scan(&id); err != nil {
		t.Fatal(err)
	}
	ad.open(s.URL+"/admin/users/"+strconv.FormatInt(id, 10), "/admin/users/"+strconv.FormatInt(id, 10))
	if got := ad.text("#follow-state"); !strings.Contains(got, "已关注") {
		t.Errorf("user page follow state %q", got)
	}
	if got := ad.text("#taps"); !strings.Contains(got, "/wechat/entry") {
		t.Errorf("user page taps %q", got)
	}
	ad.shot("admin-user-follow")
	ad.checkClean()
}
