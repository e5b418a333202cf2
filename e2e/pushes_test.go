package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
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
}
