package wechatsim

import (
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Options.
const (
	DefaultAppID  = "wx5im0000000000001"
	DefaultSecret = "wechatsim0dev0secret000000000001"
)

// Lifetimes, as WeChat documents them.
const (
	codeTTL         = 5 * time.Minute
	accessTokenTTL  = 7200 * time.Second
	refreshTokenTTL = 30 * 24 * time.Hour
)

// Options configures a Sim; the zero value is usable.
type Options struct {
	// AppID and Secret are the only credentials the simulated API accepts;
	// defaults DefaultAppID and DefaultSecret.
	AppID, Secret string
	// MiniAppID and MiniSecret are the mini program's credentials, which
	// only jscode2session accepts; defaults DefaultMiniAppID and DefaultMiniSecret.
	MiniAppID, MiniSecret string
	// MiniRate is the jscode2session calls one person may make per minute
	// before 45011; default DefaultMiniRate.
	MiniRate int
	// Prefix is the path the handler is mounted under, e.g. "/_sim"
	// ("" = root). Handler serves full request paths beginning with Prefix.
	Prefix string
	// PublicURL is the absolute URL of Prefix as the browser sees it, e.g.
	// "http://localhost:8080/_sim"; it makes headimgurl absolute. Empty: the
	// API derives it from each request's Host, and Users reports path-only
	// avatar URLs.
	PublicURL string
	// Now is the clock for code and token expiry; default time.Now. Tests
	// move it to expire codes.
	Now func() time.Time
	// DoubleCallback is the preselected Android double-callback mode of the
	// consent page, also applied to the silent snsapi_base redirect:
	// "off" (default), "A" (same code twice) or "B" (two codes, same state).
	DoubleCallback string
	// Logger receives one debug line per API call (never credentials);
	// default discards.
	Logger *slog.Logger
}

// Sim is a running simulator. All methods are safe for concurrent use.
type Sim struct {
	o       Options
	log     *slog.Logger
	users   []simUser
	byKey   map[string]*simUser
	byOpen  map[string]*simUser
	pages   map[string]*template.Template
	handler http.Handler
	ctSeq   atomic.Uint64 // rotates Content-Type of API answers

	mu      sync.Mutex
	codes   map[string]*codeRec
	unknown map[string]int // exchange attempts per code the simulator never issued
	access  map[string]*accessRec
	refresh map[string]*refreshRec
	stats   Stats
	faults  map[string]*faultState
	latency time.Duration
	push    *PushConfig // nil: pushes not configured
	// following is what the push page last delivered per openid; pushLog
	// its recent pushes; msgSeq makes MsgIds unique.
	following map[string]bool
	pushLog   []pushLogLine
	msgSeq    int64
	// miniRate counts jscode2session calls per person and minute (45011).
	miniRate map[string]*rateRec
	// lastPrune rate-limits pruning of the code and token tables.
	lastPrune time.Time
	// acct is the Official Account's access tokens and menu (account.go).
	acct acctState
}

// New returns a simulator for o.
func New(o Options) *Sim {
	if o.AppID == "" {
		o.AppID = DefaultAppID
	}
	if o.Secret == "" {
		o.Secret = DefaultSecret
	}
	if o.MiniAppID == "" {
		o.MiniAppID = DefaultMiniAppID
	}
	if o.MiniSecret == "" {
		o.MiniSecret = DefaultMiniSecret
	}
	if o.MiniRate == 0 {
		o.MiniRate = DefaultMiniRate
	}
	o.Prefix = "/" + strings.Trim(o.Prefix, "/")
	if o.Prefix == "/" {
		o.Prefix = ""
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DoubleCallback = normalizeDouble(o.DoubleCallback); o.DoubleCallback == "" {
		o.DoubleCallback = doubleOff
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Sim{
		o:        o,
		log:      o.Logger,
		codes:    map[string]*codeRec{},
		unknown:  map[string]int{},
		access:   map[string]*accessRec{},
		refresh:  map[string]*refreshRec{},
		miniRate: map[string]*rateRec{},
		faults:   map[string]*faultState{},
		stats:    Stats{ByEndpoint: map[string]int{}},

		following: map[string]bool{},
		acct:      acctState{live: map[string]time.Time{}},
	}
	s.users = testUsers(o.AppID, o.MiniAppID)
	s.byKey = make(map[string]*simUser, len(s.users))
	s.byOpen = make(map[string]*simUser, len(s.users))
	for i := range s.users {
		u := &s.users[i]
		s.byKey[u.Key] = u
		s.byOpen[u.OpenID] = u
		s.byOpen[u.MiniOpenID] = u
	}
	s.pages = parsePages()
	s.pages["chat"] = parseChatPage()
	s.handler = s.routes()
	return s
}

// Handler serves the simulator: the authorize pages, the /sns API, avatars,
// static files and the JSON control endpoints, all under Options.Prefix.
func (s *Sim) Handler() http.Handler { return s.handler }

// AppID returns the appid the simulator accepts.
func (s *Sim) AppID() string { return s.o.AppID }

// Secret returns the app secret the simulator accepts.
func (s *Sim) Secret() string { return s.o.Secret }

func (s *Sim) routes() http.Handler {
	p := s.o.Prefix
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+p+"/connect/oauth2/authorize", s.handleAuthorize)
	mux.HandleFunc("POST "+p+"/connect/oauth2/authorize/confirm", s.handleConfirm)

	mux.Handle("GET "+p+"/sns/oauth2/access_token", s.api(epAccessToken, s.exchange))
	mux.Handle("GET "+p+"/sns/oauth2/refresh_token", s.api(epRefreshToken, s.refreshToken))
	mux.Handle("GET "+p+"/sns/auth", s.api(epAuth, s.auth))
	mux.Handle("GET "+p+"/sns/userinfo", s.api(epUserInfo, s.userInfo))
	mux.Handle("GET "+p+"/sns/jscode2session", s.api(epJSCode2Session, s.jscode2session))

	mux.HandleFunc("GET "+p+"/scan", s.handleScan)
	mux.HandleFunc("POST "+p+"/wx/login", s.handleWxLogin)
	mux.Handle("POST "+p+"/cgi-bin/stable_token", s.api(epStableToken, s.stableToken))
	mux.Handle("GET "+p+"/cgi-bin/token", s.api(epCgiToken, s.cgiToken))
	mux.Handle("POST "+p+"/cgi-bin/menu/create", s.api(epMenuCreate, s.cgi(s.menuCreate)))
	mux.Handle("GET "+p+"/cgi-bin/get_current_selfmenu_info", s.api(epMenuGet, s.cgi(s.menuGet)))
	mux.Handle("GET "+p+"/cgi-bin/menu/delete", s.api(epMenuDelete, s.cgi(s.menuDelete)))
	mux.HandleFunc("GET "+p+"/chat", s.handleChat)
	mux.HandleFunc("POST "+p+"/_control/kill-token", s.controlKillToken)
	mux.HandleFunc("GET "+p+"/_control/token-stats", s.controlTokenStats)

	mux.HandleFunc("GET "+p+"/avatar/{key}/{size}", s.handleAvatar)
	mux.Handle("GET "+p+"/static/", http.StripPrefix(p+"/static/", staticHandler()))

	mux.HandleFunc("GET "+p+"/push", s.handlePushPage)
	mux.HandleFunc("POST "+p+"/push/follow", s.handlePushFollow)
	mux.HandleFunc("POST "+p+"/push/tap", s.handlePushTap)
	mux.HandleFunc("POST "+p+"/push/text", s.handlePushText)

	mux.HandleFunc("GET "+p+"/_control/stats", s.controlStats)
	mux.HandleFunc("GET "+p+"/_control/users", s.controlUsers)
	mux.HandleFunc("GET "+p+"/_control/exchanges", s.controlExchanges)
	mux.HandleFunc("POST "+p+"/_control/latency", s.controlLatency)
	mux.HandleFunc("POST "+p+"/_control/fault", s.controlFault)
	mux.HandleFunc("POST "+p+"/_control/clear-faults", s.controlClearFaults)
	mux.HandleFunc("POST "+p+"/_control/reset", s.controlReset)
	return mux
}

// publicBase is the absolute URL of Prefix for r: PublicURL if configured,
// else derived from the request (the simulator is a dev tool, so trusting
// Host is acceptable here).
func (s *Sim) publicBase(r *http.Request) string {
	if s.o.PublicURL != "" {
		return s.o.PublicURL
	}
	if r == nil {
		return s.o.Prefix
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.o.Prefix
}
