package app

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"gorm.io/gorm/logger"

	"wxlogin/admin"
	"wxlogin/models"
)

// Helpers of the admin tests (admin_*_test.go).

const (
	adminName     = "ops"
	adminPassword = "Tea-Kettle-Orbit-42"
	adminCookie   = "wxl_admin"
)

// adminWorld is one wxlogin instance with an admin account, on a settable clock.
type adminWorld struct {
	t     *testing.T
	e     *env
	in    *instance
	clk   *clock
	db    *models.DB
	count *queryCounter
}

// newAdminWorld starts an instance whose admin pages answer wrong passwords
// at once (no slow-down) and creates the admin "ops". policy zero: the default.
func newAdminWorld(t *testing.T, policy admin.Policy) *adminWorld {
	t.Helper()
	return newAdminWorldWith(t, policy, nil)
}

// newAdminWorldWith is newAdminWorld with extra environment variables.
func newAdminWorldWith(t *testing.T, policy admin.Policy, vars map[string]string) *adminWorld {
	t.Helper()
	e := newEnv(t)
	clk := newClock()
	in := e.start("a", vars, Options{Now: clk.Now, Admin: func(d *admin.Deps) {
		d.Sleep = func(context.Context, time.Duration) {}
		if policy != (admin.Policy{}) {
			d.Policy = policy
		}
	}})
	w := &adminWorld{t: t, e: e, in: in, clk: clk, db: in.App.DB, count: &queryCounter{}}
	// Installed before the first request, so no request races with it.
	w.count.Interface = w.db.Gorm.Logger
	w.db.Gorm.Logger = w.count
	w.createAdmin(adminName, adminPassword)
	return w
}

// createAdmin stores an admin with a cheap bcrypt cost (tests only).
func (w *adminWorld) createAdmin(name, password string) *models.Admin {
	w.t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		w.t.Fatal(err)
	}
	a, err := w.db.CreateAdmin(context.Background(), name, string(hash))
	if err != nil {
		w.t.Fatal(err)
	}
	return a
}

var (
	csrfRe   = regexp.MustCompile(`name="csrf" value="([0-9a-f]{64})"`)
	statusRe = regexp.MustCompile(`(?s)<main.*</main>`)
)

// hiddenCSRF returns the first CSRF token in a page's forms.
func hiddenCSRF(t *testing.T, body string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF field in page:\n%s", statusRe.FindString(body))
	}
	return m[1]
}

// adminLogin fills in the admin login form in browser b.
func (w *adminWorld) adminLogin(b *browser, name, password string) page {
	w.t.Helper()
	return w.adminLoginWith(b, name, password, nil)
}

// adminLoginWith is adminLogin with extra headers on the POST (for example
// X-Forwarded-For behind a trusted proxy).
func (w *adminWorld) adminLoginWith(b *browser, name, password string, hdr http.Header) page {
	w.t.Helper()
	form := b.get(w.in.URL + "/admin/login")
	if form.Status == http.StatusFound {
		// Already logged in: the form is skipped. Take one from a fresh
		// browser, with its token cookie, to log in again (a new session).
		fresh := newBrowser(w.t)
		form = fresh.get(w.in.URL + "/admin/login")
		u := mustURL(w.t, w.in.URL+"/admin/login")
		b.jar.SetCookies(u, fresh.jar.Cookies(u))
	}
	if form.Status != http.StatusOK {
		w.t.Fatalf("login form: %d", form.Status)
	}
	return postForm(b, w.in.URL+"/admin/login", url.Values{
		"csrf": {hiddenCSRF(w.t, form.Body)}, "username": {name}, "password": {password},
	}, hdr)
}

// loggedInAdmin returns a browser logged in as the admin "ops" and its CSRF token.
func (w *adminWorld) loggedInAdmin() (*browser, string) {
	w.t.Helper()
	b := newBrowser(w.t)
	if p := w.adminLogin(b, adminName, adminPassword); p.Status != http.StatusSeeOther || p.Location != "/admin" {
		w.t.Fatalf("admin login: %d %q", p.Status, p.Location)
	}
	dash := b.get(w.in.URL + "/admin")
	if dash.Status != http.StatusOK {
		w.t.Fatalf("dashboard after login: %d", dash.Status)
	}
	return b, hiddenCSRF(w.t, dash.Body)
}

// postForm posts a form from browser b (its cookies), with extra headers.
func postForm(b *browser, rawURL string, form url.Values, hdr http.Header) page {
	b.t.Helper()
	p, err := tryPostForm(b, rawURL, form, hdr)
	if err != nil {
		b.t.Fatalf("POST %s: %v", rawURL, err)
	}
	return p
}

// tryPostForm is postForm for goroutines: it reports instead of failing.
func tryPostForm(b *browser, rawURL string, form url.Values, hdr http.Header) (page, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		return page{}, err
	}
	req.Header.Set("User-Agent", androidUA)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := b.c.Do(req)
	if err != nil {
		return page{}, err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return page{Status: res.StatusCode, Location: res.Header.Get("Location"), Body: string(data), Header: res.Header}, nil
}

// userID is the id of the user with a simulator user's openid.
func (w *adminWorld) userID(simUser string) int64 {
	w.t.Helper()
	for _, u := range w.e.Sim.Users() {
		if u.Key == simUser {
			row, err := w.db.UserByOpenID(context.Background(), u.OpenID)
			if err != nil {
				w.t.Fatalf("user %s: %v", simUser, err)
			}
			return row.ID
		}
	}
	w.t.Fatalf("no simulator user %q", simUser)
	return 0
}

// auditCount counts audit entries of an action.
func (w *adminWorld) auditCount(action string) int64 {
	w.t.Helper()
	var n int64
	if err := w.db.Gorm.Raw("SELECT count(*) FROM audit_log WHERE action = ?", action).Scan(&n).Error; err != nil {
		w.t.Fatal(err)
	}
	return n
}

// isAdminPage tells an admin page (with the admin menu) from anything else.
func isAdminPage(p page) bool { return strings.Contains(p.Body, `aria-label="管理菜单"`) }

// queryCounter counts the SQL statements GORM runs while it is on: the
// no-N+1 proof of the list pages.
type queryCounter struct {
	logger.Interface
	on  atomic.Bool
	n   atomic.Int64
	sql atomic.Value // []string, the last counted statements, for failure messages
}

func (q *queryCounter) LogMode(logger.LogLevel) logger.Interface { return q }

func (q *queryCounter) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if q.on.Load() {
		q.n.Add(1)
		s, _ := fc()
		prev, _ := q.sql.Load().([]string)
		q.sql.Store(append(append([]string(nil), prev...), s))
	}
}

// during counts the statements that run while do runs.
func (q *queryCounter) during(do func()) (int64, []string) {
	q.n.Store(0)
	q.sql.Store([]string(nil))
	q.on.Store(true)
	do()
	q.on.Store(false)
	s, _ := q.sql.Load().([]string)
	return q.n.Load(), s
}
