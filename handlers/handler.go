// Package handlers holds wxlogin's HTTP layer: the Gin router, middleware and
// one file per page. Every handler is a method on Handler, which holds all
// dependencies; there are no globals.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"wxlogin/config"
	"wxlogin/dbsession"
	"wxlogin/exchange"
	"wxlogin/metrics"
	"wxlogin/models"
	"wxlogin/push"
	"wxlogin/qrlogin"
	"wxlogin/wechat"
)

// Store is the database as the handlers see it.
type Store interface {
	UserByID(ctx context.Context, id int64) (*models.User, error)
	Ping(ctx context.Context) error
}

// Gate is the exactly-once exchanger.
type Gate interface {
	Exchange(ctx context.Context, req exchange.Request) (exchange.Result, error)
	Replay(ctx context.Context, code string, userID int64) (string, bool)
	MarkRestarted(ctx context.Context, code string)
}

// Deps are everything the handlers need.
type Deps struct {
	Config   *config.Config
	Store    Store
	Gate     Gate
	WeChat   *wechat.Client
	Sessions *dbsession.Store
	// Bearer holds the mini program's tokens; nil: no mini program, its
	// routes answer 404.
	Bearer  *dbsession.Bearer
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// Simulator, when set, is mounted under /_sim/ (development mode).
	Simulator http.Handler
	// Admin registers the admin pages under /admin; nil: none.
	Admin func(r *gin.RouterGroup)
	// AdminNotFound answers unknown paths under /admin/ (inside the admin
	// layout); nil: the user pages' 404.
	AdminNotFound gin.HandlerFunc
	// Now is the clock (tests move it to expire states); nil: time.Now.
	Now func() time.Time
	// Readiness returns detail lines /readyz prints under its verdict (how
	// the database and wake-ups are reached); nil: none.
	Readiness func() []string
	// QR is the computer login by QR code; nil: its routes answer 404.
	QR *qrlogin.Service
	// Push receives WeChat's pushes at /wechat/notify; nil (no
	// WECHAT_TOKEN): that path answers 404.
	Push *push.Service
	// AccessToken serves GET /api/wechat/access-token to holders of
	// Config.TokenAPIKeys; nil or no keys: the route is not registered.
	AccessToken TokenSource
	// Entries counts the entry visits sent on to WeChat's authorize page
	// (the admin funnel's entries), in memory; nil: not counted.
	Entries EntryCounter
}

// EntryCounter counts an entry that starts a login at the given time.
type EntryCounter interface{ Add(t time.Time) }

// Handler serves every page.
type Handler struct {
	cfg       *config.Config
	store     Store
	gate      Gate
	wx        *wechat.Client
	sessions  *dbsession.Store
	bearer    *dbsession.Bearer
	metrics   *metrics.Metrics
	log       *slog.Logger
	tmpl      *renderer
	sim       http.Handler
	admin     func(r *gin.RouterGroup)
	adminNF   gin.HandlerFunc
	now       func() time.Time
	ready     func() []string
	qr        *qrlogin.Service
	qrLimits  *qrLimits
	push      *push.Service
	tokens    TokenSource
	tokenKeys tokenAPIKeys
	entries   EntryCounter
}

// New parses the templates and builds the Handler.
func New(d Deps) (*Handler, error) {
	r, err := newRenderer(d.Config.BaseURL.Hostname())
	if err != nil {
		return nil, err
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	return &Handler{
		cfg: d.Config, store: d.Store, gate: d.Gate, wx: d.WeChat, sessions: d.Sessions, bearer: d.Bearer, metrics: d.Metrics,
		log: d.Logger, tmpl: r, sim: d.Simulator, admin: d.Admin, adminNF: d.AdminNotFound, now: d.Now, ready: d.Readiness,
		qr: d.QR, qrLimits: newQRLimits(d.Now), push: d.Push,
		tokens: d.AccessToken, tokenKeys: newTokenAPIKeys(d.Config.TokenAPIKeys),
		entries: d.Entries,
	}, nil
}

// Router builds the Gin engine with every route and middleware.
func (h *Handler) Router() http.Handler {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.ContextWithFallback = true
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	_ = r.SetTrustedProxies(h.cfg.TrustedProxies)
	r.Use(h.knownMethods(), h.recoverer(), h.requestContext(), h.observe(), h.securityHeaders(), h.limitBody())
	r.NoRoute(func(c *gin.Context) {
		if h.adminNF != nil && strings.HasPrefix(c.Request.URL.Path, "/admin/") {
			h.adminNF(c)
			return
		}
		h.errorPage(c, http.StatusNotFound, pageNotFound)
	})
	r.NoMethod(func(c *gin.Context) { h.errorPage(c, http.StatusMethodNotAllowed, pageNotFound) })

	r.GET("/", h.home)
	r.GET("/wechat/entry", h.entry)
	r.GET("/wechat/callback", h.callback)
	r.GET("/profile", h.profile)
	r.POST("/logout", h.logout)
	if h.qr != nil {
		r.GET("/login/qr", h.qrLogin)
		r.GET("/login/qr/status", h.qrStatus)
		r.GET("/login/qr/scan", h.qrScan)
		r.POST("/login/qr/confirm", h.qrConfirm)
	}
	for _, tok := range h.cfg.MPVerify {
		r.GET("/MP_verify_"+tok+".txt", func(c *gin.Context) { c.String(http.StatusOK, tok) })
	}
	if h.push != nil {
		r.GET("/wechat/notify", h.notifyCheck)
		r.POST("/wechat/notify", h.notify)
	} else {
		r.GET("/wechat/notify", h.notifyOff)
		r.POST("/wechat/notify", h.notifyOff)
	}
	if h.bearer != nil {
		r.POST("/api/miniprogram/login", h.miniLogin)
		r.GET("/api/me", h.me)
		r.POST("/api/logout", h.apiLogout)
	}
	if h.tokens != nil && len(h.tokenKeys) > 0 {
		r.GET("/api/wechat/access-token", h.accessToken)
	}
	r.GET("/healthz", h.healthz)
	r.GET("/readyz", h.readyz)
	if h.cfg.MetricsAddr == "" {
		// METRICS_ADDR set: /metrics lives on its own listener, and the
		// public one answers 404 here like for any unknown path.
		r.GET("/metrics", gin.WrapH(h.metrics.Handler()))
	}
	r.GET("/static/*path", h.staticFile)
	r.HEAD("/static/*path", h.staticFile)
	if h.sim != nil {
		r.Any("/_sim/*path", gin.WrapH(h.sim))
	}
	if h.admin != nil {
		h.admin(r.Group("/admin"))
	}
	// Cross-origin state changes are refused before any handler runs (Go's
	// Fetch-metadata based CSRF protection); same-origin forms pass.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.setSecurityHeaders(w.Header())
		h.renderTo(w, req, http.StatusForbidden, "message", templateData{Message: messages[pageForbidden]})
	}))
	return cop.Handler(r)
}
