package wechatsim

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"
)

const (
	scopeBase     = "snsapi_base"
	scopeUserInfo = "snsapi_userinfo"
)

// maxEntries is the size past which the tables are pruned of expired
// entries — at most once per pruneEvery, so that a simulator under a
// sustained storm does not rescan a large table on every new code.
const maxEntries = 10000

// pruneEvery rate-limits pruning.
const pruneEvery = time.Second

// hardCap bounds a table even when nothing in it has expired (refresh tokens
// live 30 days): past it, an arbitrary tenth is dropped, so a days-long soak
// keeps a bounded footprint at the price of forgetting some old tokens.
const hardCap = 500000

// usedCodeTTL is how long a code is remembered: past its 5-minute life it
// still answers 42003 (expired) or 40163 (used) for a while, then 40029.
const usedCodeTTL = 2 * codeTTL

// codeRec is one authorization code. The code stays in the table after use
// so a second exchange can answer 40163 rather than 40029.
type codeRec struct {
	userKey, scope string
	app            string // "" for the web authorization, appMini for wx.login
	issued         time.Time
	used           bool
	exchanges      int // calls to /sns/oauth2/access_token with this code
}

type accessRec struct {
	userKey, openid, scope string
	issued                 time.Time
}

type refreshRec struct {
	userKey, scope string
	issued         time.Time
}

// IssueCode mints a code for the user (key or openid) and scope, as if the
// user had just authorized; tests use it to skip the browser.
func (s *Sim) IssueCode(userKey, scope string) (string, error) {
	u := s.findUser(userKey)
	if u == nil {
		return "", fmt.Errorf("wechatsim: unknown user %q", userKey)
	}
	if scope != scopeBase && scope != scopeUserInfo {
		return "", fmt.Errorf("wechatsim: unknown scope %q", scope)
	}
	return s.issueCode(u, scope), nil
}

func (s *Sim) issueCode(u *simUser, scope string) string { return s.issueCodeFor(u, scope, "") }

func (s *Sim) issueCodeFor(u *simUser, scope, app string) string {
	code := randomAlnum(32)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	s.prune(now)
	s.codes[code] = &codeRec{userKey: u.Key, scope: scope, app: app, issued: now}
	s.stats.CodesIssued++
	return code
}

// countExchange records one /sns/oauth2/access_token call carrying code,
// whatever its outcome. Caller holds s.mu.
func (s *Sim) countExchange(endpoint, code string) {
	if endpoint == epAccessToken {
		s.stats.Exchanges++
	}
	if code == "" {
		return
	}
	var n int
	if rec, ok := s.codes[code]; ok {
		rec.exchanges++
		n = rec.exchanges
	} else if _, ok := s.unknown[code]; ok || len(s.unknown) < maxEntries {
		s.unknown[code]++
		n = s.unknown[code]
	}
	if n == 2 {
		s.stats.CodesExchangedMoreThanOnce++
	}
}

// ExchangeCount reports how many times /sns/oauth2/access_token (or, for a
// mini program code, /sns/jscode2session) was called with code since the last Reset, successful or not (faulted calls count).
func (s *Sim) ExchangeCount(code string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec, ok := s.codes[code]; ok {
		return rec.exchanges
	}
	return s.unknown[code]
}

// mintTokens creates an access token and a refresh token. Caller holds s.mu.
func (s *Sim) mintTokens(u *simUser, scope string, now time.Time) (access, refresh string) {
	s.prune(now)
	access = "90_" + randomAlnum(86)
	refresh = "90_" + randomAlnum(86)
	s.access[access] = &accessRec{userKey: u.Key, openid: u.OpenID, scope: scope, issued: now}
	s.refresh[refresh] = &refreshRec{userKey: u.Key, scope: scope, issued: now}
	return access, refresh
}

// mintAccess creates an access token only (refresh keeps its refresh
// token). Caller holds s.mu.
func (s *Sim) mintAccess(u *simUser, scope string, now time.Time) string {
	s.prune(now)
	access := "90_" + randomAlnum(86)
	s.access[access] = &accessRec{userKey: u.Key, openid: u.OpenID, scope: scope, issued: now}
	return access
}

// prune drops expired codes and tokens once a table is past maxEntries, at
// most once per pruneEvery. Caller holds s.mu.
func (s *Sim) prune(now time.Time) {
	if len(s.codes) < maxEntries && len(s.access) < maxEntries && len(s.refresh) < maxEntries {
		return
	}
	if now.Sub(s.lastPrune) < pruneEvery && now.After(s.lastPrune) {
		return
	}
	s.lastPrune = now
	dropOld(s.codes, now, usedCodeTTL, func(r *codeRec) time.Time { return r.issued })
	dropOld(s.access, now, accessTokenTTL, func(r *accessRec) time.Time { return r.issued })
	dropOld(s.refresh, now, refreshTokenTTL, func(r *refreshRec) time.Time { return r.issued })
}

// dropOld deletes entries older than ttl and, past hardCap, a tenth more.
func dropOld[R any](m map[string]R, now time.Time, ttl time.Duration, issued func(R) time.Time) {
	for k, r := range m {
		if now.Sub(issued(r)) >= ttl {
			delete(m, k)
		}
	}
	if len(m) > hardCap {
		n := len(m) / 10
		for k := range m {
			if n == 0 {
				break
			}
			delete(m, k)
			n--
		}
	}
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomAlnum returns n characters like WeChat's codes and tokens. The
// slight modulo bias is irrelevant for a simulator.
func randomAlnum(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

// randomKey returns a session_key-like base64 string.
func randomKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// rid returns a request id in WeChat's errmsg style: 6543a1b2-1c2d3e4f-5a6b7c8d.
func rid() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x", b[0:4], b[4:8], b[8:12])
}
