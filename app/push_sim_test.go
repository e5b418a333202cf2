package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSimulatorModePushesOutOfTheBox: what `make run` does (SQLite, no
// WECHAT_APPID, no WECHAT_TOKEN): the Token and AES key are generated, the
// simulator's push page delivers safe-mode pushes in-process, and follow,
// menu tap and unfollow are stored (the SQLite side of the push SQL).
func TestSimulatorModePushesOutOfTheBox(t *testing.T) {
	srv := newUnstarted()
	base := "http://" + srv.Listener.Addr().String()
	cfg := loadConfig(t, map[string]string{"BASE_URL": base, "DATA_DIR": t.TempDir()})
	if !cfg.PushGenerated || cfg.PushAESKey == "" {
		t.Fatal("simulator mode did not generate a Token and an AES key")
	}
	a, err := New(t.Context(), cfg, Options{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	srv.Config.Handler = a.Handler
	srv.Start()
	t.Cleanup(srv.Close)
	b := newBrowser(t)
	post := func(path string, form url.Values) page {
		t.Helper()
		return b.do(t.Context(), http.MethodPost, base+path, strings.NewReader(form.Encode()))
	}
	if p := b.get(base + "/_sim/push?user=emoji"); p.Status != http.StatusOK || !strings.Contains(p.Body, "关注公众号") || !strings.Contains(p.Body, "safe") {
		t.Fatalf("push page: %d", p.Status)
	}
	openid := ""
	for _, u := range a.Sim.Users() {
		if u.Key == "emoji" {
			openid = u.OpenID
		}
	}
	if p := post("/_sim/push/follow", url.Values{"user": {"emoji"}, "follow": {"1"}, "dup": {"1"}}); p.Status != http.StatusSeeOther {
		t.Fatalf("follow: %d", p.Status)
	}
	if fs, err := a.DB.FollowOf(t.Context(), openid); err != nil || !fs.Followed {
		t.Fatalf("after follow: %+v %v", fs, err)
	}
	entry := base + "/wechat/entry?next=/profile"
	p := post("/_sim/push/tap", url.Values{"user": {"emoji"}, "url": {entry}, "menu": {"100"}})
	if p.Status != http.StatusFound || p.Location != entry {
		t.Fatalf("tap: %d %q", p.Status, p.Location)
	}
	var taps, deliveries int
	if err := a.DB.SQL.QueryRow(`SELECT COUNT(*) FROM pushes WHERE event = 'VIEW' AND openid = $1 AND event_key = $2 AND menu_id = '100' AND mode = 'safe'`, openid, entry).Scan(&taps); err != nil || taps != 1 {
		t.Fatalf("VIEW rows: %d %v", taps, err)
	}
	if err := a.DB.SQL.QueryRow(`SELECT deliveries FROM pushes WHERE event = 'subscribe' AND openid = $1`, openid).Scan(&deliveries); err != nil || deliveries != 2 {
		t.Errorf("the duplicated subscribe: %d deliveries (%v), want 2 on one row", deliveries, err)
	}
	post("/_sim/push/follow", url.Values{"user": {"emoji"}, "follow": {"0"}})
	if fs, _ := a.DB.FollowOf(t.Context(), openid); !fs.Known || fs.Followed {
		t.Errorf("after unfollow: %+v", fs)
	}
	if p := b.get(base + "/_sim/push?user=emoji"); !strings.Contains(p.Body, "unsubscribe") {
		t.Error("the push page does not log the unsubscribe")
	}
}
