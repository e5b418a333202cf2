package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"wxlogin/admin"
	"wxlogin/dbsession"
)

// Issue 17, finding 4: every cookieless visit to the menu entry wrote a
// session row kept for 7 days, so an <img> pointing at the entry made every
// reader's browser write one. Anonymous login state must cost the database
// nothing: it lives in a sealed cookie that dies with its states.

// sessionTable is the sessions table's row count and its size on disk
// (heap, indexes and TOAST) in bytes.
func sessionTable(t *testing.T, in *instance) (rows, bytes int64) {
	t.Helper()
	db := in.App.DB.Gorm
	if err := db.Raw(`SELECT count(*) FROM sessions`).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Raw(`SELECT pg_total_relation_size('sessions')`).Scan(&bytes).Error; err != nil {
		t.Fatal(err)
	}
	return rows, bytes
}

func TestCookielessEntryWritesNoSessionRows(t *testing.T) {
	e := newEnv(t)
	clk := newClock()
	in := e.start("a", nil, Options{Now: clk.Now})
	const n = 500
	// The largest inputs the entry accepts: a 512-byte next, and a User-Agent
	// near the server's header limit.
	hugeNext := "/" + strings.Repeat("n", 511)
	hugeUA := androidUA + " " + strings.Repeat("x", 8000)
	tests := []struct{ name, query, ua string }{
		{"plain", "", androidUA},
		{"largest next and User-Agent", "?next=" + url.QueryEscape(hugeNext), hugeUA},
	}
	var firstCookie, firstState string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows0, bytes0 := sessionTable(t, in)
			cookieBytes := 0
			for i := range n {
				p := rawDo(t, http.MethodGet, in.URL+"/wechat/entry"+tt.query, "", nil, http.Header{"User-Agent": {tt.ua}})
				c := setCookie(p, cookieName)
				if p.Status != http.StatusFound || c == nil {
					t.Fatalf("entry %d: %d, cookie %v", i, p.Status, c != nil)
				}
				for _, sc := range p.Header.Values("Set-Cookie") {
					cookieBytes += len(sc)
				}
				if firstCookie == "" {
					firstCookie = c.Value
					_, firstState = callbackParams(t, strings.TrimSuffix(p.Location, "#wechat_redirect"))
				}
			}
			rows1, bytes1 := sessionTable(t, in)
			t.Logf("%d cookieless entries (%s): %+d session rows, %+d bytes in Postgres (%.0f per entry); Set-Cookie %d bytes per entry",
				n, tt.name, rows1-rows0, bytes1-bytes0, float64(bytes1-bytes0)/n, cookieBytes/n)
			if rows1 != rows0 {
				t.Fatalf("%d cookieless entries wrote %d session rows, want none", n, rows1-rows0)
			}
			if cookieBytes/n > 2500 {
				t.Fatalf("Set-Cookie of %d bytes per entry: too close to the browsers' 4 KB limit", cookieBytes/n)
			}
		})
	}

	// Fifteen minutes later nothing of those logins is left: no row, and the
	// cookie's state no longer opens a login (WeChat is not called).
	clk.Advance(15 * time.Minute)
	in.App.PurgeOnce(t.Context())
	if rows, _ := sessionTable(t, in); rows != 0 {
		t.Fatalf("%d session rows left 15 minutes after cookieless entries", rows)
	}
	calls := e.Sim.Stats().Exchanges
	p := rawGet(t, in.URL+"/wechat/callback?code=CODE0123456789&state="+firstState, cookieName+"="+firstCookie)
	if p.Status != http.StatusBadRequest {
		t.Fatalf("callback with a 15-minute-old pre-login cookie and its state: %d, want 400", p.Status)
	}
	if e.Sim.Stats().Exchanges != calls {
		t.Fatal("an expired pre-login cookie made the server call WeChat")
	}
}

// Anonymous rows written before this fix (or by an older instance during a
// rolling upgrade) go at the next housekeeping pass once their states are
// dead, not after the 7-day idle timeout.
func TestPurgeEndsLegacyAnonymousRows(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	e.login(b, in, "zhangsan") // a user's session, kept
	db := in.App.DB.Gorm
	now := time.Now().UTC()
	for _, r := range []struct {
		id   string
		seen time.Time
	}{{"anon-old", now.Add(-15 * time.Minute)}, {"anon-fresh", now.Add(-time.Minute)}} {
		if err := db.Exec(`INSERT INTO sessions (id_hash, kind, data, created_at, last_seen_at, expires_at) VALUES (?, 'user', '', ?, ?, ?)`,
			r.id, r.seen, r.seen, now.Add(7*24*time.Hour)).Error; err != nil {
			t.Fatal(err)
		}
	}
	in.App.PurgeOnce(t.Context())
	var left []string
	if err := db.Raw(`SELECT id_hash FROM sessions WHERE user_id IS NULL ORDER BY id_hash`).Scan(&left).Error; err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0] != "anon-fresh" {
		t.Fatalf("anonymous rows after housekeeping: %v, want only the one seen a minute ago", left)
	}
	if p := b.get(in.URL + "/profile"); p.Status != http.StatusOK {
		t.Fatalf("the user's session did not survive housekeeping: %d", p.Status)
	}
}

// After the login the session is a database row with a new id, and the
// pre-login (sealed) cookie opens nothing: it is anonymous again.
func TestLoginTurnsTheSealedCookieIntoARow(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	auth := b.entry(in, "/profile")
	sealed := b.jarCookie(in)
	if rows, _ := sessionTable(t, in); rows != 0 {
		t.Fatalf("the entry wrote %d session rows", rows)
	}
	if _, ok := cookieID(t, testSessionKey, cookieName, sealed); ok {
		t.Fatal("the pre-login cookie is a signed session id, not a sealed anonymous session")
	}
	p := b.get(e.authorize(auth, "zhangsan", "allow"))
	fresh := setCookie(p, cookieName)
	if p.Status != http.StatusFound || p.Location != "/profile" || fresh == nil {
		t.Fatalf("login: %d %q, new cookie %v", p.Status, p.Location, fresh != nil)
	}
	id, ok := cookieID(t, testSessionKey, cookieName, fresh.Value)
	if !ok {
		t.Fatal("the logged-in cookie is not a signed session id")
	}
	var n int64
	in.App.DB.Gorm.Raw(`SELECT count(*) FROM sessions WHERE id_hash = ? AND user_id = ?`,
		dbsession.HashID(id), e.userIDOf(in, "zhangsan")).Scan(&n)
	if n != 1 {
		t.Fatal("no session row for the logged-in user")
	}
	if !loggedIn(t, in, fresh.Value) {
		t.Fatal("the new cookie is not logged in")
	}
	if loggedIn(t, in, sealed) {
		t.Fatal("the pre-login cookie opens the account")
	}
	// Presented to the entry, the old cookie is a visitor who must log in.
	if p := rawGet(t, in.URL+"/wechat/entry?next=/profile", cookieName+"="+sealed); p.Status != http.StatusFound || strings.HasPrefix(p.Location, "/") {
		t.Fatalf("entry with the pre-login cookie: %d %q, want the way to WeChat", p.Status, p.Location)
	}
}

// Every response that sets or clears a session cookie says no-store, so no
// cache between the browser and wxlogin keeps (and hands out) a session.
func TestSessionCookieResponsesAreNotStored(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	e, in := w.e, w.in
	b := newBrowser(t)
	entry := b.get(in.URL + "/wechat/entry?next=/profile")
	callback := b.get(e.authorize(entry.Location, "zhangsan", "allow"))
	logout := b.do(t.Context(), http.MethodPost, in.URL+"/logout", strings.NewReader(""))
	adminLogin := w.adminLogin(newBrowser(t), adminName, adminPassword)
	tests := []struct {
		name   string
		p      page
		status int
		cookie string
	}{
		{"entry", entry, http.StatusFound, cookieName},
		{"callback", callback, http.StatusFound, cookieName},
		{"logout", logout, http.StatusSeeOther, cookieName},
		{"admin login", adminLogin, http.StatusSeeOther, adminCookie},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.p.Status != tt.status || setCookie(tt.p, tt.cookie) == nil {
				t.Fatalf("%d, cookie %v; want %d setting %s", tt.p.Status, setCookie(tt.p, tt.cookie) != nil, tt.status, tt.cookie)
			}
			if got := tt.p.Header.Get("Cache-Control"); got != "no-store" {
				t.Fatalf("Cache-Control %q on a response setting the session cookie, want no-store", got)
			}
		})
	}
}

// Many tabs with the longest next paths: the pre-login cookie holds at
// most five states and their next paths within a budget, so it stays well
// under the browsers' 4 KB, and the newest login always works.
func TestPreLoginCookieStaysSmallWithManyTabs(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	largest, auth := 0, ""
	for i := range 16 {
		size := 128
		if i%5 == 4 || i > 12 {
			size = 512
		}
		next := "/" + strings.Repeat(string(rune('a'+i)), size-1)
		p := b.get(in.URL + "/wechat/entry?next=" + url.QueryEscape(next))
		if p.Status != http.StatusFound {
			t.Fatalf("entry %d: %d", i, p.Status)
		}
		auth = p.Location
		for _, sc := range p.Header.Values("Set-Cookie") {
			largest = max(largest, len(sc))
		}
	}
	t.Logf("largest pre-login Set-Cookie: %d bytes", largest)
	if largest > 2500 {
		t.Fatalf("pre-login Set-Cookie of %d bytes: too close to the browsers' 4 KB limit", largest)
	}
	p := b.get(e.authorize(auth, "zhangsan", "allow"))
	if p.Status != http.StatusFound || !strings.HasPrefix(p.Location, "/ppp") {
		t.Fatalf("the newest tab's login: %d %.20q", p.Status, p.Location)
	}
}
