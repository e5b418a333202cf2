package wechatsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"time"
)

// The Official Account's basic access token (wechat-api.md §7), with
// WeChat's invalidation rules: cgi-bin/stable_token returns the same token
// until five minutes before expiry, then a new one while the old lives on
// for its last five minutes; force_refresh kills every earlier token at
// once and is allowed 20 times a day, 30 s apart; cgi-bin/token mints a new
// token on every call and the previous one from it dies five minutes later.
// Every cgi-bin API answers 40001 for a token that is not (or no longer)
// valid, 42001 for one past its expiry.

const (
	acctTokenTTL     = 7200 * time.Second
	acctOverlap      = 5 * time.Minute
	forceDailyLimit  = 20
	forceMinInterval = 30 * time.Second
	tokenDailyLimit  = 2000
	maxAPIBody       = 64 << 10
)

// Endpoint names of the account APIs (Stats.ByEndpoint, SetFault).
const (
	epStableToken = "stable_token"
	epCgiToken    = "token"
	epMenuCreate  = "menu_create"
	epMenuGet     = "menu_get"
	epMenuDelete  = "menu_delete"
)

// acctState is the account's tokens and menu; guarded by Sim.mu.
type acctState struct {
	// live maps every token that may still be used to when it stops
	// working; a killed token is removed (40001), an expired one stays
	// until pruned (42001).
	live map[string]time.Time
	// stable is the token stable_token hands out now, and when it expires.
	stable        string
	stableExpires time.Time
	// basic is the latest cgi-bin/token token.
	basic string
	// forces are the force_refresh calls that succeeded today; lastForce
	// the time of the latest; day is the Beijing date they count for.
	day       string
	forces    int
	tokens    int // cgi-bin/token calls today
	lastForce time.Time
	menu      *json.RawMessage
	counts    TokenStats
}

// TokenStats counts the account-token calls since the last Reset.
type TokenStats struct {
	StableNormal  int `json:"stable_normal"`  // stable_token calls in normal mode that returned a token
	StableForced  int `json:"stable_forced"`  // force_refresh calls that issued a new token
	ForceRefused  int `json:"force_refused"`  // force_refresh calls refused (too soon or daily limit)
	Token         int `json:"token"`          // cgi-bin/token calls that issued a token
	Rejected40001 int `json:"rejected_40001"` // cgi-bin API calls refused with 40001/42001
	MenuCreates   int `json:"menu_creates"`   // successful menu/create calls
	Kills         int `json:"kills"`          // tokens killed through KillToken
}

var beijing = time.FixedZone("CST", 8*3600)

// rollDay resets the daily counters at Beijing midnight. Caller holds s.mu.
func (s *Sim) rollDay(now time.Time) {
	if d := now.In(beijing).Format("2006-01-02"); d != s.acct.day {
		s.acct.day, s.acct.forces, s.acct.tokens = d, 0, 0
	}
}

// mintAcct issues a new account token living ttl. Caller holds s.mu.
func (s *Sim) mintAcct(now time.Time) string {
	t := "sim_at_" + randomAlnum(100)
	s.acct.live[t] = now.Add(acctTokenTTL)
	for k, dies := range s.acct.live {
		if now.Sub(dies) > time.Hour {
			delete(s.acct.live, k)
		}
	}
	return t
}

// killAll ends every account token at once (a forced refresh does).
// Caller holds s.mu.
func (s *Sim) killAll() { clear(s.acct.live) }

type stableRequest struct {
	GrantType    string `json:"grant_type"`
	AppID        string `json:"appid"`
	Secret       string `json:"secret"`
	ForceRefresh bool   `json:"force_refresh"`
}

type acctTokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

// stableToken is POST /cgi-bin/stable_token.
func (s *Sim) stableToken(r *http.Request, _ url.Values) any {
	var req stableRequest
	b, err := io.ReadAll(io.LimitReader(r.Body, maxAPIBody))
	if err != nil || json.Unmarshal(b, &req) != nil {
		return apiError(47001)
	}
	q := url.Values{"appid": {req.AppID}, "secret": {req.Secret}}
	if e, ok := s.checkApp(q, true); !ok {
		return e
	}
	if req.GrantType != "client_credential" {
		return apiError(40002)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	s.rollDay(now)
	if req.ForceRefresh {
		switch {
		case s.acct.forces >= forceDailyLimit:
			s.acct.counts.ForceRefused++
			return apiError(45009)
		case !s.acct.lastForce.IsZero() && now.Sub(s.acct.lastForce) < forceMinInterval:
			s.acct.counts.ForceRefused++
			return apiError(45011)
		}
		s.acct.forces++
		s.acct.lastForce = now
		s.acct.counts.StableForced++
		s.killAll()
		s.acct.stable, s.acct.stableExpires = s.mintAcct(now), now.Add(acctTokenTTL)
	} else {
		s.acct.counts.StableNormal++
		if s.acct.stable == "" || !now.Before(s.acct.stableExpires.Add(-acctOverlap)) {
			// Renewed five minutes before expiry: the old one keeps its
			// last five minutes (it is still in live until then).
			s.acct.stable, s.acct.stableExpires = s.mintAcct(now), now.Add(acctTokenTTL)
		}
	}
	return acctTokenAnswer{AccessToken: s.acct.stable, ExpiresIn: int(s.acct.stableExpires.Sub(now) / time.Second)}
}

// cgiToken is GET /cgi-bin/token: a new token on every call, the previous
// one dies five minutes later; about 2,000 a day.
func (s *Sim) cgiToken(_ *http.Request, q url.Values) any {
	if e, ok := s.checkApp(q, true); !ok {
		return e
	}
	if q.Get("grant_type") != "client_credential" {
		return apiError(40002)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	s.rollDay(now)
	if s.acct.tokens >= tokenDailyLimit {
		return apiError(45009)
	}
	s.acct.tokens++
	s.acct.counts.Token++
	if prev := s.acct.basic; prev != "" {
		if dies, ok := s.acct.live[prev]; ok && dies.After(now.Add(acctOverlap)) {
			s.acct.live[prev] = now.Add(acctOverlap)
		}
	}
	s.acct.basic = s.mintAcct(now)
	return acctTokenAnswer{AccessToken: s.acct.basic, ExpiresIn: int(acctTokenTTL / time.Second)}
}

// checkAcctToken validates a cgi-bin call's access_token: 41001 missing,
// 40001 unknown or killed, 42001 expired.
func (s *Sim) checkAcctToken(q url.Values) apiError {
	t := q.Get("access_token")
	if t == "" {
		return 41001
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	dies, ok := s.acct.live[t]
	switch {
	case !ok:
		s.acct.counts.Rejected40001++
		return 40001
	case !s.o.Now().Before(dies):
		s.acct.counts.Rejected40001++
		return 42001
	}
	return 0
}

// cgi wraps a cgi-bin API behind the access-token check.
func (s *Sim) cgi(fn apiFunc) apiFunc {
	return func(r *http.Request, q url.Values) any {
		if e := s.checkAcctToken(q); e != 0 {
			return e
		}
		return fn(r, q)
	}
}

// Kill modes of KillToken.
const (
	// KillStale kills the current stable token while stable_token in normal
	// mode keeps handing it back, so only a force_refresh repairs it: the
	// case in which wxlogin must force exactly once.
	KillStale = "stale"
	// KillForce is another server's force_refresh: a new stable token
	// replaces the old one, which dies at once; normal mode returns the new
	// one. It counts against the daily and 30-second limits.
	KillForce = "force"
)

// KillToken kills the current account token as another server would
// (mode KillStale or KillForce) and reports whether there was one.
func (s *Sim) KillToken(mode string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.acct.stable == "" {
		return false
	}
	s.acct.counts.Kills++
	now := s.o.Now()
	s.killAll()
	if mode == KillForce {
		s.rollDay(now)
		s.acct.forces++
		s.acct.lastForce = now
		s.acct.stable, s.acct.stableExpires = s.mintAcct(now), now.Add(acctTokenTTL)
	}
	return true
}

// TokenStats returns the account-token counters.
func (s *Sim) TokenStats() TokenStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acct.counts
}

// ForcesLeftToday is how many force_refresh calls WeChat would still accept today.
func (s *Sim) ForcesLeftToday() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollDay(s.o.Now())
	return forceDailyLimit - s.acct.forces
}

func (s *Sim) controlKillToken(w http.ResponseWriter, r *http.Request) {
	mode := r.URL.Query().Get("mode")
	switch mode {
	case "":
		mode = KillStale
	case KillStale, KillForce:
	default:
		writeControl(w, http.StatusBadRequest, map[string]string{"error": "mode must be stale or force"})
		return
	}
	writeControl(w, http.StatusOK, map[string]bool{"killed": s.KillToken(mode)})
}

func (s *Sim) controlTokenStats(w http.ResponseWriter, _ *http.Request) {
	writeControl(w, http.StatusOK, s.TokenStats())
}
