// Package app wires wxlogin together from a Config: database, migrations,
// WeChat client (or the built-in simulator), the exactly-once gate, sessions
// and handlers. cmd/wxlogin and the end-to-end tests both build on it, so the
// tests run the same wiring production does.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/jackc/pgx/v5"

	"wxlogin/admin"
	"wxlogin/config"
	"wxlogin/dbsession"
	"wxlogin/entrycount"
	"wxlogin/exchange"
	"wxlogin/handlers"
	"wxlogin/metrics"
	"wxlogin/models"
	"wxlogin/push"
	"wxlogin/qrlogin"
	"wxlogin/tokencenter"
	"wxlogin/tokencrypt"
	"wxlogin/wechat"
	"wxlogin/wechatsim"
)

// Options adjust the wiring; the zero value is production's.
type Options struct {
	Logger *slog.Logger
	// WeChat overrides the WeChat client's settings (tests point it at a
	// simulator running as its own httptest server).
	WeChat func(*wechat.Config)
	// Sim is the simulator to mount in simulator mode (tests keep a handle on
	// its counters); nil builds one.
	Sim *wechatsim.Sim
	// Gate adjusts the exactly-once gate (tests shorten the lease).
	Gate func(*exchange.Config)
	// Now overrides the clock of sessions and the gate.
	Now func() time.Time
	// Admin adjusts the admin pages (tests: no slow-down, lockout policy).
	Admin func(*admin.Deps)
	// Tokens adjusts the account's token center.
	Tokens func(*tokencenter.Config)
	// DBTracer sees every statement the database pool sends (Postgres only);
	// the round-trip budget test counts a login's statements with it.
	DBTracer pgx.QueryTracer
}

// App is a wired wxlogin instance.
type App struct {
	Config *config.Config
	DB     *models.DB
	Sim    *wechatsim.Sim
	WeChat *wechat.Client
	// MiniWeChat is the mini program's client (jscode2session); nil when no
	// mini program is configured.
	MiniWeChat *wechat.Client
	Gate       *exchange.Gate
	Tokens     *tokencenter.Center
	Metrics    *metrics.Metrics
	Sessions   *dbsession.Store
	Handler    http.Handler
	Log        *slog.Logger
	// Push receives /wechat/notify; nil without WECHAT_TOKEN.
	Push *push.Service

	// Entries counts the entry visits that start a login, in memory, and
	// adds them to entry_counts every entrycount.Interval and on Close.
	Entries *entrycount.Counter

	listener  *models.Listener // Postgres NOTIFY → gate wake-ups; nil on SQLite
	stopFlush context.CancelFunc
	flushDone chan struct{}
}

// New opens the database, applies migrations and builds the handlers.
func New(ctx context.Context, cfg *config.Config, o Options) (*App, error) {
	log := o.Logger
	if log == nil {
		log = NewLogger(cfg, os.Stderr)
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	db, err := models.Open(ctx, cfg.DatabaseURL, cfg.DataDir, models.Options{Logger: log, MaxOpenConns: cfg.DBMaxConns, Tracer: o.DBTracer})
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	a := &App{Config: cfg, DB: db, Log: log, Metrics: metrics.New(db)}
	a.Entries = entrycount.New(db, log.With("component", "entrycount"))

	wcfg := wechat.Config{
		AppID: cfg.WeChatAppID, Secret: cfg.WeChatSecret, OAuthURL: cfg.WeChatOAuthURL, APIURL: cfg.WeChatAPIURL,
		Observe: a.Metrics.ObserveWeChat, Timeout: cfg.WeChatTimeout,
	}
	var simHandler http.Handler
	if cfg.Simulator {
		a.Sim = o.Sim
		if a.Sim == nil {
			a.Sim = wechatsim.New(wechatsim.Options{
				Prefix: "/_sim", PublicURL: cfg.BaseURL.String() + "/_sim",
				DoubleCallback: cfg.SimDoubleCallback, Logger: log.With("component", "wechatsim"),
			})
		}
		simHandler = a.Sim.Handler()
		wcfg.AppID, wcfg.Secret = a.Sim.AppID(), a.Sim.Secret()
		wcfg.OAuthURL = cfg.BaseURL.String() + "/_sim"
		// The server talks to its own simulator in-process: BASE_URL is the
		// browser's view and may not be reachable from the server itself.
		wcfg.APIURL = "http://wechatsim.invalid/_sim"
		wcfg.HTTPClient = &http.Client{Transport: inProcess{simHandler}}
	}
	if o.WeChat != nil {
		o.WeChat(&wcfg)
	}
	a.WeChat = wechat.New(wcfg)
	if cfg.MiniProgram() {
		// The mini program is an app of its own (its own appid and secret)
		// on the same WeChat API, with a client of its own.
		mcfg := wcfg
		mcfg.AppID, mcfg.Secret = cfg.WeChatMiniAppID, cfg.WeChatMiniSecret
		if cfg.Simulator {
			mcfg.AppID, mcfg.Secret = a.Sim.MiniAppID(), a.Sim.MiniSecret()
		}
		a.MiniWeChat = wechat.New(mcfg)
	}

	sealer, err := tokencrypt.New(cfg.TokenKeys)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("TOKEN_KEY: %w", err)
	}
	gcfg := exchange.Config{
		Instance: cfg.InstanceID, Lease: cfg.ExchangeLease, OwnerTimeout: cfg.ExchangeLease * 2 / 3,
		Logger: log.With("component", "exchange"), Metrics: a.Metrics, Now: now, AppID: wcfg.AppID,
	}
	if a.MiniWeChat != nil {
		gcfg.Steps = map[string]exchange.Step{exchange.KindMini: exchange.MiniStep{
			WeChat: a.MiniWeChat, Sealer: sealer, AppID: a.MiniWeChat.AppID(), Logger: log.With("component", "exchange"),
		}}
	}
	if db.URL != "" {
		// The listener is built here so the gate can ask whether it is live;
		// Start runs it. It wakes the gate, which exists by then. It LISTENs
		// on DATABASE_LISTEN_URL when set (a direct connection past a
		// pooler) and proves delivery with NOTIFYs sent through the pool.
		lurl := db.URL
		if cfg.DatabaseListenURL != "" {
			lurl = cfg.DatabaseListenURL
		}
		a.listener = models.NewListener(lurl, log.With("component", "listener"), func(k string) { a.Gate.Wake(k) })
		a.listener.ProbeWith(db.Notify)
		gcfg.HintsLive = a.listener.Live
		a.Metrics.Database(a.listener.Live, db.Pooled)
	}
	if o.Gate != nil {
		o.Gate(&gcfg)
	}
	a.Gate = exchange.New(db, a.WeChat, sealer, gcfg)

	tcfg := tokencenter.Config{Instance: cfg.InstanceID, Logger: log.With("component", "tokencenter")}
	if o.Tokens != nil {
		o.Tokens(&tcfg)
	}
	a.Tokens = tokencenter.New(db, a.WeChat, sealer, tcfg)

	a.Sessions, err = dbsession.New(db, dbsession.Config{
		Kind: "user", CookieName: "wxl_session", Keys: cfg.SessionKeys, Secure: cfg.Secure(),
		Idle: cfg.SessionIdle, MaxAge: cfg.SessionMaxAge, Now: now,
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	var bearer *dbsession.Bearer
	if a.MiniWeChat != nil {
		// The mini program's tokens: sessions of their own kind in the same
		// table, with the users' idle and absolute expiry.
		bearer = dbsession.NewBearer(db, dbsession.BearerConfig{
			Kind: models.SessionMiniProgram, Prefix: "wxm_", Idle: cfg.SessionIdle, MaxAge: cfg.SessionMaxAge, Now: now,
		})
	}
	adeps := admin.Deps{Config: cfg, DB: db, WeChat: a.WeChat, Sealer: sealer, Logger: log, Now: now, Tokens: a.Tokens}
	if o.Admin != nil {
		o.Admin(&adeps)
	}
	adm, err := admin.New(adeps)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if cfg.PushToken != "" {
		a.Push, err = push.New(push.Config{
			Token: cfg.PushToken, AESKey: cfg.PushAESKey, AppID: wcfg.AppID, Instance: cfg.InstanceID,
			Store: db, Metrics: a.Metrics, Now: now,
		})
		if err != nil {
			_ = db.Close()
			return nil, err
		}
	}
	h, err := handlers.New(handlers.Deps{
		Config: cfg, Store: db, Gate: a.Gate, WeChat: a.WeChat, Sessions: a.Sessions, Bearer: bearer,
		Metrics: a.Metrics, Logger: log, Simulator: simHandler, Now: now, Admin: adm.Register, AdminNotFound: adm.NotFound,
		Readiness:   a.readiness,
		QR:          qrlogin.New(db, qrlogin.Config{Now: now}),
		Push:        a.Push,
		AccessToken: a.Tokens,
		Entries:     a.Entries,
	})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	a.Handler = h.Router()
	if a.Sim != nil && a.Push != nil {
		// The built-in simulator pushes to this instance in-process, with
		// the generated (or configured) Token and key, so `make run` shows
		// follows and menu taps out of the box.
		mode := wechatsim.PushPlaintext
		if cfg.PushAESKey != "" {
			mode = wechatsim.PushSafe
		}
		a.Sim.ConfigurePush(wechatsim.PushConfig{
			URLs: []string{"http://wxlogin.invalid/wechat/notify"}, Token: cfg.PushToken, AESKey: cfg.PushAESKey, Mode: mode,
			Client: &http.Client{Transport: inProcess{a.Handler}},
		})
	}
	return a, nil
}

// Start runs the background work (the NOTIFY listener, housekeeping, the
// entry counts' flusher) until ctx ends or Close.
func (a *App) Start(ctx context.Context) {
	if a.listener != nil {
		go a.listener.Run(ctx)
	}
	go a.housekeeping(ctx)
	if a.stopFlush == nil {
		fctx, cancel := context.WithCancel(ctx)
		a.stopFlush, a.flushDone = cancel, make(chan struct{})
		go func() {
			defer close(a.flushDone)
			a.Entries.Run(fctx, entrycount.Interval)
		}()
	}
}

// Server is the http.Server Serve runs, with the production timeouts and
// header limit (requests with more than MaxHeaderBytes of headers get 431);
// tests serve it on their own listener.
func (a *App) Server() *http.Server {
	return &http.Server{
		Addr:              a.Config.ListenAddr,
		Handler:           a.Handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      40 * time.Second, // a duplicate may wait for an owner's lease
		IdleTimeout:       90 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
}

// Serve listens on cfg.ListenAddr until ctx ends, then shuts down gracefully:
// it stops accepting, lets in-flight requests (and so exchanges) finish
// within the deadline, and returns.
func (a *App) Serve(ctx context.Context, shutdownTimeout time.Duration) error {
	srv := a.Server()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	a.Log.Info("wxlogin listening", "addr", a.Config.ListenAddr, "base_url", a.Config.BaseURL.String(),
		"database", string(a.DB.Dialect), "simulator", a.Config.Simulator, "instance", a.Config.InstanceID)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down", "deadline", shutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// readiness is the detail /readyz adds under its verdict: how queries and
// wake-ups reach Postgres.
func (a *App) readiness() []string {
	if a.listener == nil {
		return []string{"database: " + string(a.DB.Dialect)}
	}
	conn := "direct"
	if a.DB.Pooled() {
		conn = "transaction pooler"
	}
	return []string{
		"database: postgres, " + conn + ", query mode " + a.DB.QueryMode(),
		"wake-ups: " + a.listener.State(),
	}
}

// Close stops the entry counts' flusher, flushes what it counted since (call
// it after the server has stopped, so no entry comes later), and releases
// the database.
func (a *App) Close() error {
	if a.stopFlush != nil {
		a.stopFlush()
		<-a.flushDone
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Entries.Flush(ctx); err != nil {
		a.Log.Warn("final flush of entry counts failed; lost", "err", err, "entries", a.Entries.Pending())
	}
	return a.DB.Close()
}
