// Package config reads wxlogin's settings from the environment once, into a
// typed struct, and refuses to start on settings that would fail later.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Config is every setting wxlogin reads. The environment variable names are a
// contract (DESIGN.md); programs outside this repository set them.
type Config struct {
	ListenAddr  string
	BaseURL     *url.URL
	DatabaseURL string // empty: SQLite file under DataDir
	DataDir     string

	WeChatAppID    string
	WeChatSecret   string
	WeChatOAuthURL string
	WeChatAPIURL   string
	WeChatScope    string // auto (default), snsapi_base or snsapi_userinfo
	// WeChatMiniAppID and WeChatMiniSecret are the mini program's
	// credentials (WECHAT_MINI_APPID, WECHAT_MINI_SECRET). Unset: the mini
	// program routes answer 404, except in simulator mode, which uses the
	// simulator's mini program.
	WeChatMiniAppID  string
	WeChatMiniSecret string

	// SiteName is the name people see (SITE_NAME): page titles, which WeChat
	// shows in its title bar, the landing page and the footer.
	SiteName string

	// SessionKeys sign the session cookie; the first signs, all verify (rotation).
	SessionKeys [][]byte
	// TokenKeys encrypt WeChat tokens at rest; the first encrypts, all decrypt.
	TokenKeys [][]byte

	// Simulator is true when no WECHAT_APPID is set: the built-in WeChat
	// simulator is served under /_sim/ and used instead of WeChat. On a
	// BASE_URL other than localhost it takes SIMULATOR=1 (see simulatorMode).
	Simulator bool
	// SimDoubleCallback is the simulator consent page's default Android
	// double-callback variant ("off", "A", "B").
	SimDoubleCallback string

	InstanceID     string
	LogFormat      string // "json" or "text"
	LogLevel       string
	PprofAddr      string // loopback listener for net/http/pprof; empty: off; = MetricsAddr: shares it
	MetricsAddr    string // own listener for /metrics (the public one answers 404 there); empty: public
	SessionIdle    time.Duration
	SessionMaxAge  time.Duration
	AdminIdle      time.Duration
	AdminMaxAge    time.Duration
	RetentionDays  int
	TrustedProxies []string
	// ExchangeLease is how long a claimed code is protected from takeover;
	// the owner's WeChat budget is two thirds of it.
	ExchangeLease time.Duration
	// WeChatTimeout bounds each WeChat API attempt.
	WeChatTimeout time.Duration
	// ShutdownTimeout bounds graceful shutdown.
	ShutdownTimeout time.Duration
	// DBMaxConns caps the Postgres pool of this instance.
	DBMaxConns int
	// DatabaseListenURL, when set, is a direct Postgres connection (past any
	// transaction-mode pooler in DATABASE_URL) used only to LISTEN for
	// exchange wake-ups; empty: LISTEN over DATABASE_URL.
	DatabaseListenURL string
	// PushToken is WECHAT_TOKEN, the Token of the account's server
	// configuration; empty: /wechat/notify answers 404. Generated in
	// simulator mode (PushGenerated), so pushes work out of the box.
	PushToken string
	// PushAESKey is WECHAT_AES_KEY, the EncodingAESKey; set: only
	// encrypted pushes are accepted.
	PushAESKey    string
	PushGenerated bool
	// MPVerify are the tokens of WeChat's domain-verification files
	// (MP_verify_TOKEN.txt), served at the site root so the authorization
	// domain can be verified without a reverse-proxy rule.
	MPVerify []string
	// TokenAPIKeys are the keys with which the account's other services
	// read its access token from GET /api/wechat/access-token (≥ 32
	// characters each); empty: the route answers 404.
	TokenAPIKeys []string
}

// MiniProgram reports whether the mini program routes are served: with
// WECHAT_MINI_APPID set, or in simulator mode (the simulator's mini program).
func (c *Config) MiniProgram() bool { return c.WeChatMiniAppID != "" || c.Simulator }

// Production reports whether wxlogin talks to the real WeChat, where every
// secret must be given rather than generated.
func (c *Config) Production() bool { return !c.Simulator }

// Secure reports whether cookies must carry Secure (and the __Host- prefix).
func (c *Config) Secure() bool { return c.BaseURL.Scheme == "https" }

// RedirectURI is the callback URL WeChat sends the browser back to.
func (c *Config) RedirectURI() string {
	return strings.TrimRight(c.BaseURL.String(), "/") + "/wechat/callback"
}

// DefaultDBMaxConns is DB_MAX_CONNS's default: four instances, each with
// this pool plus its LISTEN connection, fit a default Postgres
// (max_connections 100, 3 reserved for superusers): 4 × (20 + 1) = 84 ≤ 97,
// leaving 13 for psql, `wxlogin migrate` and monitoring. See deploy/README.md.
const DefaultDBMaxConns = 20

// IsPostgres reports whether DatabaseURL selects Postgres.
func (c *Config) IsPostgres() bool { return IsPostgresURL(c.DatabaseURL) }

// IsPostgresURL reports whether a DATABASE_URL names Postgres.
func IsPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Getenv looks up one variable; os.Getenv in production, a map in tests.
type Getenv func(string) string

// Load reads and validates the configuration. In simulator (development)
// mode missing secrets are generated once and kept under DataDir so that
// sessions survive a restart of `make run`.
func Load(env Getenv) (*Config, error) {
	get := func(name, def string) (string, error) {
		v := env(name)
		if f := env(name + "_FILE"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return "", fmt.Errorf("%s_FILE: %w", name, err)
			}
			v = strings.TrimSpace(string(b))
		}
		if v == "" {
			v = def
		}
		return v, nil
	}
	var errs []error
	must := func(name, def string) string {
		v, err := get(name, def)
		if err != nil {
			errs = append(errs, err)
		}
		return v
	}

	c := &Config{
		ListenAddr:        must("LISTEN_ADDR", ""),
		DatabaseURL:       must("DATABASE_URL", ""),
		DatabaseListenURL: must("DATABASE_LISTEN_URL", ""),
		DataDir:           must("DATA_DIR", "data"),
		WeChatAppID:       must("WECHAT_APPID", ""),
		WeChatSecret:      must("WECHAT_SECRET", ""),
		WeChatOAuthURL:    strings.TrimRight(must("WECHAT_OAUTH_URL", "https://open.weixin.qq.com"), "/"),
		WeChatAPIURL:      strings.TrimRight(must("WECHAT_API_URL", "https://api.weixin.qq.com"), "/"),
		WeChatScope:       must("WECHAT_SCOPE", "auto"),
		WeChatMiniAppID:   must("WECHAT_MINI_APPID", ""),
		WeChatMiniSecret:  must("WECHAT_MINI_SECRET", ""),
		SiteName:          strings.TrimSpace(must("SITE_NAME", "wxlogin")),
		SimDoubleCallback: must("SIM_DOUBLE_CALLBACK", "A"),
		InstanceID:        must("INSTANCE_ID", ""),
		LogFormat:         must("LOG_FORMAT", ""),
		LogLevel:          must("LOG_LEVEL", "info"),
		PprofAddr:         must("PPROF_ADDR", ""),
		MetricsAddr:       must("METRICS_ADDR", ""),
	}

	base := must("BASE_URL", "http://localhost:8080")
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		errs = append(errs, fmt.Errorf("BASE_URL: want an absolute http(s) URL without query, got %q", base))
		u = &url.URL{Scheme: "http", Host: "localhost:8080"}
	}
	u.Path = strings.TrimRight(u.Path, "/")
	c.BaseURL = u

	c.Simulator, err = simulatorMode(c.WeChatAppID, must("SIMULATOR", ""), c.BaseURL)
	if err != nil {
		errs = append(errs, err)
	}
	if c.ListenAddr == "" {
		c.ListenAddr = defaultListenAddr
		if c.Simulator {
			c.ListenAddr = defaultSimulatorListenAddr
		}
	}
	if err := checkAddr("LISTEN_ADDR", c.ListenAddr); err != nil {
		errs = append(errs, err)
	}
	if c.MetricsAddr != "" {
		if err := checkAddr("METRICS_ADDR", c.MetricsAddr); err != nil {
			errs = append(errs, err)
		} else if c.MetricsAddr == c.ListenAddr {
			errs = append(errs, errors.New("METRICS_ADDR: must differ from LISTEN_ADDR (unset it to serve /metrics on the main listener)"))
		}
	}
	if c.PprofAddr != "" {
		if err := checkPprofAddr(c.PprofAddr); err != nil {
			errs = append(errs, err)
		}
	}

	if c.DatabaseURL != "" {
		if err := validateDatabaseURL(c.DatabaseURL); err != nil {
			errs = append(errs, err)
		}
	}
	if c.DatabaseListenURL != "" {
		if !c.IsPostgres() {
			errs = append(errs, errors.New("DATABASE_LISTEN_URL: only with a postgres:// DATABASE_URL"))
		} else if err := validateDatabaseURL(c.DatabaseListenURL); err != nil || !IsPostgresURL(c.DatabaseListenURL) {
			errs = append(errs, errors.New("DATABASE_LISTEN_URL: want postgres://user:pass@host:port/db, a direct connection to the same database"))
		}
	}
	if c.WeChatScope != "auto" && c.WeChatScope != "snsapi_userinfo" && c.WeChatScope != "snsapi_base" {
		errs = append(errs, fmt.Errorf("WECHAT_SCOPE: want auto, snsapi_base or snsapi_userinfo, got %q", c.WeChatScope))
	}
	if n := utf8.RuneCountInString(c.SiteName); n == 0 || n > 32 || strings.ContainsFunc(c.SiteName, unicode.IsControl) {
		errs = append(errs, fmt.Errorf("SITE_NAME: want 1 to 32 characters without control characters, got %q", c.SiteName))
	}
	if !c.Simulator && c.WeChatSecret == "" {
		errs = append(errs, errors.New("WECHAT_SECRET: required when WECHAT_APPID is set"))
	}
	if (c.WeChatMiniAppID == "") != (c.WeChatMiniSecret == "") {
		errs = append(errs, errors.New("WECHAT_MINI_APPID, WECHAT_MINI_SECRET: set both or neither"))
	} else if c.WeChatMiniAppID != "" && !alnum(c.WeChatMiniAppID) {
		errs = append(errs, errors.New("WECHAT_MINI_APPID: want letters and digits (wx...)"))
	}
	switch c.SimDoubleCallback {
	case "off", "A", "B":
	default:
		errs = append(errs, fmt.Errorf("SIM_DOUBLE_CALLBACK: want off, A or B, got %q", c.SimDoubleCallback))
	}
	if c.LogFormat == "" {
		c.LogFormat = "text"
		if !c.Simulator {
			c.LogFormat = "json"
		}
	}

	durations := []struct {
		name string
		def  time.Duration
		dst  *time.Duration
	}{
		{"SESSION_IDLE_TIMEOUT", 7 * 24 * time.Hour, &c.SessionIdle},
		{"SESSION_MAX_AGE", 30 * 24 * time.Hour, &c.SessionMaxAge},
		{"ADMIN_IDLE_TIMEOUT", 30 * time.Minute, &c.AdminIdle},
		{"ADMIN_MAX_AGE", 12 * time.Hour, &c.AdminMaxAge},
		{"EXCHANGE_LEASE", 15 * time.Second, &c.ExchangeLease},
		{"WECHAT_TIMEOUT", 5 * time.Second, &c.WeChatTimeout},
		{"SHUTDOWN_TIMEOUT", 25 * time.Second, &c.ShutdownTimeout},
	}
	for _, d := range durations {
		s := must(d.name, "")
		*d.dst = d.def
		if s == "" {
			continue
		}
		v, err := time.ParseDuration(s)
		if err != nil || v <= 0 {
			errs = append(errs, fmt.Errorf("%s: want a positive duration such as 30m, got %q", d.name, s))
			continue
		}
		*d.dst = v
	}
	c.RetentionDays = 90
	if s := must("RETENTION_DAYS", ""); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 3650 {
			errs = append(errs, fmt.Errorf("RETENTION_DAYS: want 1..3650, got %q", s))
		} else {
			c.RetentionDays = n
		}
	}
	c.DBMaxConns = DefaultDBMaxConns
	if s := must("DB_MAX_CONNS", ""); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 2 || n > 1000 {
			errs = append(errs, fmt.Errorf("DB_MAX_CONNS: want 2..1000, got %q", s))
		} else {
			c.DBMaxConns = n
		}
	}
	c.PushToken = must("WECHAT_TOKEN", "")
	c.PushAESKey = must("WECHAT_AES_KEY", "")
	if err := checkPushSecrets(c.PushToken, c.PushAESKey); err != nil {
		errs = append(errs, err)
	}
	if s := must("WECHAT_MP_VERIFY", ""); s != "" {
		for _, tok := range strings.Split(s, ",") {
			tok = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(tok), "MP_verify_"), ".txt"))
			if !alnum(tok) || len(tok) > 64 {
				errs = append(errs, fmt.Errorf("WECHAT_MP_VERIFY: want the token of MP_verify_TOKEN.txt (letters and digits), got %q", tok))
				continue
			}
			c.MPVerify = append(c.MPVerify, tok)
		}
	}
	if s := must("TOKEN_API_KEYS", ""); s != "" {
		for i, k := range strings.Split(s, ",") {
			k = strings.TrimSpace(k)
			switch {
			case k == "":
				continue
			case len(k) < minTokenAPIKey || len(k) > 256:
				errs = append(errs, fmt.Errorf("TOKEN_API_KEYS: key %d is %d characters, want 32 to 256 (generate with `openssl rand -hex 32`)", i+1, len(k)))
			case strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r > '~' }):
				errs = append(errs, fmt.Errorf("TOKEN_API_KEYS: key %d must be printable ASCII without spaces", i+1))
			default:
				c.TokenAPIKeys = append(c.TokenAPIKeys, k)
			}
		}
	}
	if s := must("TRUSTED_PROXIES", ""); s != "" {
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.TrustedProxies = append(c.TrustedProxies, p)
			}
		}
	}

	c.SessionKeys, err = keys("SESSION_KEYS", must("SESSION_KEYS", ""))
	if err != nil {
		errs = append(errs, err)
	}
	c.TokenKeys, err = keys("TOKEN_KEY", must("TOKEN_KEY", ""))
	if err != nil {
		errs = append(errs, err)
	}
	if err := separateKeys(c.SessionKeys, c.TokenKeys); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}

	if len(c.SessionKeys) == 0 || len(c.TokenKeys) == 0 {
		if c.Production() {
			var missing []string
			if len(c.SessionKeys) == 0 {
				missing = append(missing, "SESSION_KEYS")
			}
			if len(c.TokenKeys) == 0 {
				missing = append(missing, "TOKEN_KEY")
			}
			return nil, fmt.Errorf("%s: required in production (64 hex characters each; generate with `openssl rand -hex 32`)", strings.Join(missing, ", "))
		}
		if len(c.SessionKeys) == 0 {
			k, err := devKey(c.DataDir, "session.key", "SESSION_KEYS")
			if err != nil {
				return nil, err
			}
			c.SessionKeys = [][]byte{k}
		}
		if len(c.TokenKeys) == 0 {
			k, err := devKey(c.DataDir, "token.key", "TOKEN_KEY")
			if err != nil {
				return nil, err
			}
			c.TokenKeys = [][]byte{k}
		}
		if err := separateKeys(c.SessionKeys, c.TokenKeys); err != nil {
			return nil, err
		}
	}
	if c.Simulator && c.PushToken == "" {
		c.PushToken, c.PushAESKey, c.PushGenerated = randomHex(16), randomAESKey(), true
	}
	if c.InstanceID == "" {
		h, _ := os.Hostname()
		c.InstanceID = fmt.Sprintf("%s-%d-%s", h, os.Getpid(), randomHex(3))
	}
	return c, nil
}

// minTokenAPIKey is the shortest key TOKEN_API_KEYS accepts: 32 characters
// leave no room for guessing over the network.
const minTokenAPIKey = 32

func validateDatabaseURL(s string) error {
	if !IsPostgresURL(s) {
		if strings.HasPrefix(s, "sqlite:") || strings.HasPrefix(s, "file:") {
			return nil
		}
		return errors.New("DATABASE_URL: want postgres://user:pass@host:port/db, or sqlite:PATH")
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || strings.Trim(u.Path, "/") == "" {
		return errors.New("DATABASE_URL: malformed postgres URL (want postgres://user:pass@host:port/db)")
	}
	return nil
}

func alnum(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
