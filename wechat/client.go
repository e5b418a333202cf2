package wechat

import (
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Default endpoints and limits; see Config.
const (
	DefaultOAuthURL         = "https://open.weixin.qq.com"
	DefaultAPIURL           = "https://api.weixin.qq.com"
	DefaultTimeout          = 5 * time.Second
	DefaultUserInfoAttempts = 3
	DefaultBackoff          = 100 * time.Millisecond
	// The concurrency bounds (issue 17). A login storm keeps about latency ×
	// calls/s in flight: ~100 at 1,000 logins/s and 100 ms, ~40 at the
	// benchmarked 390 logins/s and 50 ms. 128 leaves that headroom while a
	// slow WeChat can hold no more than 128 connections and 256 waiters.
	DefaultMaxInFlight     = 128
	DefaultMaxQueued       = 256
	DefaultMaxConnsPerHost = 128
)

// Config configures a Client. Zero values take the documented defaults, so
// production needs only AppID and Secret; dev mode and tests point OAuthURL
// and APIURL at the simulator.
type Config struct {
	AppID, Secret string
	// OAuthURL is the base of the authorize page, e.g.
	// "https://open.weixin.qq.com" or "http://localhost:8080/_sim".
	OAuthURL string
	// APIURL is the base of the /sns/... API, e.g. "https://api.weixin.qq.com".
	APIURL string
	// HTTPClient nil means a client with a tuned transport that does not
	// follow redirects (the API never redirects; a redirect is a failure).
	HTTPClient *http.Client
	// Timeout bounds each HTTP attempt; default 5s.
	Timeout time.Duration
	// UserInfoAttempts is the total number of userinfo attempts on temporary
	// failures (-1, non-200, timeout, bad JSON); default 3.
	UserInfoAttempts int
	// Backoff is the base of the jittered exponential backoff between
	// userinfo attempts; default 100ms.
	Backoff time.Duration
	// Observe, if set, is called after every HTTP attempt with the endpoint
	// ("access_token", "refresh_token", "auth", "userinfo", "jscode2session"),
	// the errcode (0 ok, ErrCodeUnavailable (-2) for transport, HTTP or JSON
	// failures) and the attempt's duration; also for every call refused
	// before an attempt: -2 with the breaker open, ErrCodeOverloaded (-3)
	// with the time spent waiting for a slot. It must be cheap and safe for
	// concurrent use.
	Observe func(endpoint string, errcode int, d time.Duration)
	// BreakerThreshold consecutive temporary failures (timeouts, 5xx, bad
	// JSON, -1) open the circuit for BreakerCooldown: calls then fail at once
	// without reaching WeChat. Defaults 20 and 5s; a negative threshold
	// disables the breaker.
	BreakerThreshold int
	BreakerCooldown  time.Duration
	// MaxInFlight caps the HTTP attempts this client has out at once, over
	// all endpoints; default 128, negative disables the limiter. When all
	// are taken, up to MaxQueued more callers (default 256, negative: none)
	// wait for one, each until its context ends or Timeout passes; anyone
	// else fails at once with an *UnavailableError wrapping ErrOverloaded.
	// A userinfo retry queues again: a backoff holds no slot.
	MaxInFlight int
	MaxQueued   int
	// MaxConnsPerHost caps the connections the default transport opens to
	// one WeChat host (dialing, active and idle); default 128. It is a
	// second bound below the limiter and is not applied to an HTTPClient
	// given in this Config.
	MaxConnsPerHost int
}

// Client talks to WeChat. It is safe for concurrent use and holds no
// per-user state.
type Client struct {
	cfg     Config
	hc      *http.Client
	breaker *breaker
	limiter *limiter // nil: unlimited
}

// New returns a Client for cfg, filling in defaults.
func New(cfg Config) *Client {
	if cfg.OAuthURL == "" {
		cfg.OAuthURL = DefaultOAuthURL
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	cfg.OAuthURL = strings.TrimRight(cfg.OAuthURL, "/")
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.UserInfoAttempts <= 0 {
		cfg.UserInfoAttempts = DefaultUserInfoAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.MaxQueued == 0 {
		cfg.MaxQueued = DefaultMaxQueued
	}
	if cfg.MaxConnsPerHost <= 0 {
		cfg.MaxConnsPerHost = DefaultMaxConnsPerHost
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = defaultHTTPClient(cfg.MaxConnsPerHost)
	}
	c := &Client{cfg: cfg, hc: hc}
	if cfg.MaxInFlight > 0 {
		c.limiter = newLimiter(cfg.MaxInFlight, cfg.MaxQueued, cfg.Timeout)
	}
	if cfg.BreakerThreshold >= 0 {
		if cfg.BreakerThreshold == 0 {
			cfg.BreakerThreshold = 20
		}
		if cfg.BreakerCooldown <= 0 {
			cfg.BreakerCooldown = 5 * time.Second
		}
		c.breaker = &breaker{threshold: cfg.BreakerThreshold, cooldown: cfg.BreakerCooldown, now: time.Now}
	}
	return c
}

// defaultHTTPClient keeps connections to the few WeChat hosts warm and never
// follows redirects. It sets no overall Timeout: each attempt carries its
// own deadline through the request context. maxConns bounds the connections
// per host, so even calls that bypassed the limiter could not open one
// connection each.
func defaultHTTPClient(maxConns int) *http.Client {
	tr := &http.Transport{
		Proxy:             http.ProxyFromEnvironment,
		DialContext:       (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2: true,
		// A login storm keeps ~latency × logins/s calls in flight (about 100
		// at 1,000 logins/s and 100 ms); fewer idle slots would churn
		// connections (TIME_WAIT) at that rate.
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   min(128, maxConns),
		MaxConnsPerHost:       maxConns,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// AppID returns the configured appid.
func (c *Client) AppID() string { return c.cfg.AppID }

// AuthorizeURL returns the link that starts an authorization in the user's
// WeChat. WeChat matches the link strictly, so the parameters come in exactly
// the documented order (appid, redirect_uri, response_type, scope, state)
// followed by "#wechat_redirect"; nothing else is ever added.
func (c *Client) AuthorizeURL(redirectURI, scope, state string) string {
	var b strings.Builder
	b.WriteString(c.cfg.OAuthURL)
	b.WriteString("/connect/oauth2/authorize?appid=")
	b.WriteString(url.QueryEscape(c.cfg.AppID))
	b.WriteString("&redirect_uri=")
	b.WriteString(url.QueryEscape(redirectURI))
	b.WriteString("&response_type=code&scope=")
	b.WriteString(url.QueryEscape(scope))
	b.WriteString("&state=")
	b.WriteString(url.QueryEscape(state))
	b.WriteString("#wechat_redirect")
	return b.String()
}
