package app

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"wxlogin/exchange"
	"wxlogin/testdb"
)

// hintsSpy records what the gate's waiters were told about wake-ups: true
// means they polled slowly, trusting NOTIFY; false means the fast poll.
type hintsSpy struct{ live, polled atomic.Int64 }

func (s *hintsSpy) options() Options {
	return Options{Gate: func(c *exchange.Config) {
		live := c.HintsLive
		c.HintsLive = func() bool {
			v := live != nil && live()
			if v {
				s.live.Add(1)
			} else {
				s.polled.Add(1)
			}
			return v
		}
	}}
}

// readyz asks one instance of the cluster for /readyz.
func (cl *cluster) readyz(i int) (int, string) {
	rec := httptest.NewRecorder()
	cl.Apps[i].Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	return rec.Code, rec.Body.String()
}

// wakeupVerdict waits (bounded) until instance i's listener has a verdict on
// its probe and returns /readyz's body.
func (cl *cluster) wakeupVerdict(t *testing.T, i int) string {
	t.Helper()
	var body string
	waitFor(t, func() bool {
		_, body = cl.readyz(i)
		return strings.Contains(body, "wake-ups: live") || strings.Contains(body, "probe NOTIFY not received")
	})
	return body
}

// Three instances start at once on an empty database through PgBouncer in
// transaction mode: all migrate and serve, and logins, Android duplicates
// (within one instance and across instances), the admin pages and the
// exactly-once counts are as on a direct connection. Without
// DATABASE_LISTEN_URL the NOTIFY wake-ups cannot arrive through the pooler:
// every instance finds that out by itself and its waiters take the fast
// poll; with it, they are woken by NOTIFY.
func TestThreeInstancesThroughPooler(t *testing.T) {
	tests := []struct {
		name   string
		listen bool
	}{
		{"no DATABASE_LISTEN_URL", false},
		{"DATABASE_LISTEN_URL direct", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			direct := testdb.NewEmpty(t)
			e.DBURL = testdb.PoolerURL(t, direct)
			extra := map[string]string{}
			if tt.listen {
				extra["DATABASE_LISTEN_URL"] = direct
			}
			spy := &hintsSpy{}
			cl := e.clusterWith(3, extra, spy.options())

			for i := range cl.Apps {
				code, body := cl.readyz(i)
				if code != http.StatusOK || !strings.Contains(body, "transaction pooler, query mode cache describe") {
					t.Fatalf("instance %d /readyz: %d %q", i, code, body)
				}
				body = cl.wakeupVerdict(t, i)
				if got := strings.Contains(body, "wake-ups: live"); got != tt.listen {
					t.Fatalf("instance %d /readyz: %q; want wake-ups live %v", i, body, tt.listen)
				}
				want := "wxlogin_wakeups_live " + map[bool]string{true: "1", false: "0"}[tt.listen]
				if m := metricsOf(t, cl, i); !strings.Contains(m, want) || !strings.Contains(m, "wxlogin_db_pooler 1") {
					t.Fatalf("instance %d /metrics lacks %q or wxlogin_db_pooler 1", i, want)
				}
			}

			e.Sim.SetLatency(50 * time.Millisecond) // so duplicates overlap the owner
			for i := range 6 {
				b := newBrowser(t)
				if p := e.login(b, cl.instance(), "zhangsan"); p.Status != http.StatusFound || p.Location != "/profile" {
					t.Fatalf("login %d: %d %q", i, p.Status, p.Location)
				}
				if p := b.get(cl.URL + "/profile"); p.Status != http.StatusOK || !strings.Contains(p.Body, "张三") {
					t.Fatalf("profile after login %d: %d", i, p.Status)
				}
			}

			// Android duplicates within one instance.
			b := newBrowser(t)
			cb := e.authorize(b.entry(cl.instance(), "/profile"), "emoji", "allow")
			for i, p := range race(t, 10, func(int) (page, error) { return b.getOn(context.Background(), cb, 2) }) {
				if p.Status != http.StatusFound || p.Location != "/profile" {
					t.Fatalf("same-instance duplicate %d: %d %q", i, p.Status, p.Location)
				}
			}
			if n := e.Sim.ExchangeCount(codeOf(t, cb)); n != 1 {
				t.Fatalf("same-instance duplicates: code exchanged %d times", n)
			}

			// Android duplicates across instances: the waiters on the other
			// instances read the row; how they waited is what the spy saw.
			spy.live.Store(0)
			spy.polled.Store(0)
			b = newBrowser(t)
			cb = e.authorize(b.entry(cl.instance(), "/profile"), "zhangsan", "allow")
			for i, p := range race(t, 6, func(i int) (page, error) { return b.getOn(context.Background(), cb, i%3) }) {
				if p.Status != http.StatusFound || p.Location != "/profile" {
					t.Fatalf("cross-instance duplicate %d: %d %q", i, p.Status, p.Location)
				}
			}
			if n := e.Sim.ExchangeCount(codeOf(t, cb)); n != 1 {
				t.Fatalf("cross-instance duplicates: code exchanged %d times", n)
			}
			live, polled := spy.live.Load(), spy.polled.Load()
			if live+polled == 0 {
				t.Fatal("no cross-instance waiter ran")
			}
			if tt.listen && polled != 0 || !tt.listen && live != 0 {
				t.Fatalf("waiters trusting NOTIFY: %d, on the fast poll: %d; want all %s", live, polled,
					map[bool]string{true: "trusting NOTIFY", false: "on the fast poll"}[tt.listen])
			}

			// The admin pages, across the instances (round-robin).
			w := &adminWorld{t: t, e: e, in: &instance{App: cl.Apps[0], URL: cl.URL}, db: cl.Apps[0].DB, clk: newClock()}
			w.createAdmin(adminName, adminPassword)
			ab, _ := w.loggedInAdmin()
			for _, path := range []string{"/admin", "/admin/users", "/admin/logins", "/admin/audit", "/admin/menu"} {
				for range cl.Apps {
					if p := ab.get(cl.URL + path); p.Status != http.StatusOK || !isAdminPage(p) {
						t.Fatalf("%s: %d", path, p.Status)
					}
				}
			}

			st := e.Sim.Stats()
			if st.CodesExchangedMoreThanOnce != 0 || st.Exchanges != 8 {
				t.Fatalf("exchanges %d (codes exchanged twice: %d); want 8, none twice", st.Exchanges, st.CodesExchangedMoreThanOnce)
			}
			if n := countRows(t, cl.Apps[0], "users"); n != 2 {
				t.Fatalf("%d users, want 2", n)
			}
		})
	}
}

// metricsOf is instance i's /metrics page.
func metricsOf(t *testing.T, cl *cluster, i int) string {
	t.Helper()
	rec := httptest.NewRecorder()
	cl.Apps[i].Handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("instance %d /metrics: %d", i, rec.Code)
	}
	return rec.Body.String()
}

// Postgres restarts behind the pooler: /readyz answers 503 while it is down
// and 200 once it is back, logins resume without restarting wxlogin, and no
// code is exchanged twice.
func TestPostgresRestartBehindPooler(t *testing.T) {
	pc := testdb.PrivateCluster(t)
	e := newEnv(t)
	e.DBURL = pc.Pooler(t)
	in := e.start("a", map[string]string{"DB_MAX_CONNS": "4"}, Options{})
	b := newBrowser(t)
	if p := e.login(b, in, "zhangsan"); p.Status != http.StatusFound {
		t.Fatalf("login before the outage: %d", p.Status)
	}
	if p := b.get(in.URL + "/readyz"); p.Status != http.StatusOK || !strings.Contains(p.Body, "transaction pooler") {
		t.Fatalf("/readyz before the outage: %d %q", p.Status, p.Body)
	}

	pc.Stop()
	if p := b.get(in.URL + "/readyz"); p.Status != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with Postgres down behind the pooler: %d", p.Status)
	}
	// A login attempted during the outage fails cleanly; its code is not spent twice.
	cb := e.authorize(newBrowser(t).entry(in, "/profile"), "emoji", "allow")
	if p := newBrowser(t).get(cb); p.Status == http.StatusFound && p.Location == "/profile" {
		t.Fatalf("a login succeeded with Postgres down")
	}

	pc.Start()
	// PgBouncer reconnects to the server on its own schedule
	// (server_login_retry); wxlogin must follow without a restart.
	waitFor(t, func() bool { return b.get(in.URL+"/readyz").Status == http.StatusOK })
	if p := b.get(in.URL + "/profile"); p.Status != http.StatusOK {
		t.Fatalf("old session after Postgres returned: %d", p.Status)
	}
	for i := range 3 {
		if p := e.login(newBrowser(t), in, "emoji"); p.Status != http.StatusFound || p.Location != "/profile" {
			t.Fatalf("login %d after Postgres returned: %d %q", i, p.Status, p.Location)
		}
	}
	if st := e.Sim.Stats(); st.CodesExchangedMoreThanOnce != 0 {
		t.Fatalf("%d codes exchanged more than once", st.CodesExchangedMoreThanOnce)
	}
}

// The database passwords in DATABASE_URL and DATABASE_LISTEN_URL appear
// nowhere: not in /readyz's details, /metrics or the logs, also when the
// LISTEN connection keeps failing (its errors are logged).
func TestDatabasePasswordsNeverShown(t *testing.T) {
	e := newEnv(t)
	const pw, listenPW = "Pooled-Secret-7731", "Listen-Secret-9924" // trust auth: accepted and ignored
	withPW := func(raw, pass string) string {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(u.User.Username(), pass)
		return u.String()
	}
	e.DBURL = withPW(testdb.PoolerURL(t, e.DBURL), pw)
	dead := fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/nowhere?sslmode=disable", listenPW, freePort(t))
	in := e.start("a", map[string]string{"DATABASE_LISTEN_URL": dead}, Options{})
	b := newBrowser(t)
	if p := e.login(b, in, "zhangsan"); p.Status != http.StatusFound {
		t.Fatalf("login: %d", p.Status)
	}
	waitFor(t, func() bool { return strings.Contains(e.Logs.String(), "exchange listener disconnected") })
	pages := b.get(in.URL+"/readyz").Body + b.get(in.URL+"/metrics").Body
	for _, secret := range []string{pw, listenPW} {
		if strings.Contains(e.Logs.String(), secret) {
			t.Errorf("a database password is in the logs")
		}
		if strings.Contains(pages, secret) {
			t.Errorf("a database password is in /readyz or /metrics")
		}
	}
}
