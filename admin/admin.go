// Package admin serves the operators' pages under /admin: a login of their
// own (separate cookie and session, bcrypt, lockout), a dashboard with
// server-drawn charts, users, the login log, menu setup and the audit log.
// Every state change is a POST carrying a per-session CSRF token, on top of
// the router's cross-origin protection; every action lands in audit_log.
package admin

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"wxlogin/config"
	"wxlogin/dbsession"
	"wxlogin/models"
	"wxlogin/tokencenter"
	"wxlogin/wechat"
)

// Sealer opens the WeChat tokens stored encrypted (tokencrypt.Sealer).
type Sealer interface {
	Seal(plaintext, additional []byte) ([]byte, error)
	Open(ciphertext, additional []byte) ([]byte, error)
}

// Policy is the admin login throttle (see throttle.go). Zero fields take
// DefaultPolicy's values.
type Policy struct {
	// AccountMax failed attempts on one account from one client address
	// within Window lock that account for that address.
	AccountMax int
	// AccountTotalMax failed attempts on one account from all addresses
	// within Window lock the account for every address and known device
	// that has itself failed on it within Window — never for one that has
	// not (throttle.go).
	AccountTotalMax int
	// IPMax failed attempts from one client address within Window lock the
	// address, for every account.
	IPMax int
	// Window is how long failures are remembered.
	Window time.Duration
	// LockFor is how long a lock lasts; it always runs out.
	LockFor time.Duration
	// SlowStep is the extra wait per recent failure before a wrong password
	// is answered (on top of bcrypt's own cost), capped at SlowMax.
	SlowStep, SlowMax time.Duration
}

// DefaultPolicy: within 15 minutes, 5 wrong passwords for an account from
// one address, 50 for an account from all addresses, or 20 from one address
// for any accounts lock for 15 minutes.
var DefaultPolicy = Policy{
	AccountMax: 5, AccountTotalMax: 50, IPMax: 20, Window: 15 * time.Minute, LockFor: 15 * time.Minute,
	SlowStep: 250 * time.Millisecond, SlowMax: 2 * time.Second,
}

// withDefaults fills the zero fields of p from DefaultPolicy.
func (p Policy) withDefaults() Policy {
	d := DefaultPolicy
	pick := func(v, def int) int {
		if v == 0 {
			return def
		}
		return v
	}
	pickD := func(v, def time.Duration) time.Duration {
		if v == 0 {
			return def
		}
		return v
	}
	return Policy{
		AccountMax: pick(p.AccountMax, d.AccountMax), AccountTotalMax: pick(p.AccountTotalMax, d.AccountTotalMax),
		IPMax: pick(p.IPMax, d.IPMax), Window: pickD(p.Window, d.Window), LockFor: pickD(p.LockFor, d.LockFor),
		SlowStep: pickD(p.SlowStep, d.SlowStep), SlowMax: pickD(p.SlowMax, d.SlowMax),
	}
}

// Deps are what the admin pages need.
type Deps struct {
	Config *config.Config
	DB     *models.DB
	WeChat *wechat.Client
	Sealer Sealer
	Logger *slog.Logger
	// Now is the clock of sessions, throttle and dashboard; nil: time.Now.
	Now func() time.Time
	// Policy is the login throttle; zero fields: DefaultPolicy's.
	Policy Policy
	// Sleep waits before answering a wrong password; nil: a timer that
	// respects ctx. Tests pass a no-op.
	Sleep func(ctx context.Context, d time.Duration)
	// QR renders a QR code of a URL as inline SVG; nil: wxlogin/qrcode.
	QR func(string) template.HTML
	// Tokens is the account's access token (公众号 page, menu publishing).
	Tokens *tokencenter.Center
}

// Admin serves the admin pages.
type Admin struct {
	cfg      *config.Config
	db       *models.DB
	wx       *wechat.Client
	sealer   Sealer
	log      *slog.Logger
	now      func() time.Time
	policy   Policy
	sleep    func(ctx context.Context, d time.Duration)
	qr       func(string) template.HTML
	tokens   *tokencenter.Center
	sessions *dbsession.Store
	tmpl     *renderer
	// lastPurge is when this instance last purged stale throttle rows (unix
	// seconds).
	lastPurge atomic.Int64
}

// New builds the admin pages with their own session store (kind "admin",
// cookie wxl_admin on path /admin, ADMIN_IDLE_TIMEOUT and ADMIN_MAX_AGE).
func New(d Deps) (*Admin, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	d.Policy = d.Policy.withDefaults()
	if d.Sleep == nil {
		d.Sleep = sleepCtx
	}
	if d.QR == nil {
		d.QR = entryQR
	}
	store, err := dbsession.New(d.DB, dbsession.Config{
		Kind: "admin", CookieName: "wxl_admin", Path: "/admin", Keys: d.Config.SessionKeys,
		Secure: d.Config.Secure(), Idle: d.Config.AdminIdle, MaxAge: d.Config.AdminMaxAge, Now: d.Now,
	})
	if err != nil {
		return nil, err
	}
	r, err := newRenderer()
	if err != nil {
		return nil, err
	}
	return &Admin{
		cfg: d.Config, db: d.DB, wx: d.WeChat, sealer: d.Sealer, log: d.Logger.With("component", "admin"),
		now: d.Now, policy: d.Policy, sleep: d.Sleep, qr: d.QR, sessions: store, tmpl: r, tokens: d.Tokens,
	}, nil
}

// Sessions is the admin session store.
func (a *Admin) Sessions() *dbsession.Store { return a.sessions }

// Route is one admin route. Tests walk Routes() so that none escapes the
// access-control checks.
type Route struct {
	Method, Path string
	Public       bool // reachable without an admin session (the login form)
}

// routeTable is every admin route and its handler. Reads are GETs; every
// change is a POST behind requireAdmin's CSRF check.
var routeTable = []struct {
	Route
	h func(*Admin, *gin.Context)
}{
	{Route{http.MethodGet, "/admin/login", true}, (*Admin).loginPage},
	{Route{http.MethodPost, "/admin/login", true}, (*Admin).loginSubmit},
	{Route{http.MethodGet, "/admin", false}, (*Admin).dashboard},
	{Route{http.MethodGet, "/admin/", false}, (*Admin).dashboard},
	{Route{http.MethodPost, "/admin/logout", false}, (*Admin).logout},
	{Route{http.MethodGet, "/admin/users", false}, (*Admin).users},
	{Route{http.MethodGet, "/admin/users/:id", false}, (*Admin).user},
	{Route{http.MethodGet, "/admin/users/:id/disable", false}, (*Admin).confirmPage},
	{Route{http.MethodPost, "/admin/users/:id/disable", false}, (*Admin).userAction},
	{Route{http.MethodPost, "/admin/users/:id/enable", false}, (*Admin).userAction},
	{Route{http.MethodGet, "/admin/users/:id/end-sessions", false}, (*Admin).confirmPage},
	{Route{http.MethodPost, "/admin/users/:id/end-sessions", false}, (*Admin).userAction},
	{Route{http.MethodPost, "/admin/users/:id/refresh", false}, (*Admin).userAction},
	{Route{http.MethodGet, "/admin/logins", false}, (*Admin).logins},
	{Route{http.MethodGet, "/admin/menu", false}, (*Admin).menu},
	{Route{http.MethodPost, "/admin/menu", false}, (*Admin).menuPost},
	{Route{http.MethodGet, "/admin/account", false}, (*Admin).account},
	{Route{http.MethodPost, "/admin/account/force-refresh", false}, (*Admin).forceRefresh},
	{Route{http.MethodGet, "/admin/audit", false}, (*Admin).audit},
	{Route{http.MethodGet, "/admin/pushes", false}, (*Admin).pushes},
}

// Routes lists every admin route.
func Routes() []Route {
	out := make([]Route, len(routeTable))
	for i, r := range routeTable {
		out[i] = r.Route
	}
	return out
}

// Register mounts the admin routes on g, the router's /admin group
// (handlers.Deps.Admin).
func (a *Admin) Register(g *gin.RouterGroup) {
	auth := g.Group("", a.requireAdmin)
	for _, r := range routeTable {
		h := r.h
		handler := func(c *gin.Context) { h(a, c) }
		path := strings.TrimPrefix(r.Path, "/admin")
		if r.Public {
			g.Handle(r.Method, path, handler)
		} else {
			auth.Handle(r.Method, path, handler)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
