package wechatsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Defaults of the simulator's mini program, an app of its own: its own
// appid and secret, and openids of its own for every test person (the same
// unionid as in the Official Account).
const (
	DefaultMiniAppID  = "wx5im0000000000101"
	DefaultMiniSecret = "wechatsim0dev0secret000000000002"
)

// DefaultMiniRate is how many jscode2session calls one person may make per
// minute before WeChat answers 45011 (wechat-api.md §6: about 100).
const DefaultMiniRate = 100

// appMini marks a code minted by the wx.login stand-in: only jscode2session
// takes it, and the web exchange refuses it as WeChat would (40029, a code
// of another appid).
const appMini = "mini"

// MiniAppID returns the mini program's appid.
func (s *Sim) MiniAppID() string { return s.o.MiniAppID }

// MiniSecret returns the mini program's secret.
func (s *Sim) MiniSecret() string { return s.o.MiniSecret }

// IssueMiniCode mints a js_code for the user (key or openid), as wx.login
// does in the mini program: single use, valid for 5 minutes.
func (s *Sim) IssueMiniCode(userKey string) (string, error) {
	u := s.findUser(userKey)
	if u == nil {
		return "", fmt.Errorf("wechatsim: unknown user %q", userKey)
	}
	return s.issueCodeFor(u, "", appMini), nil
}

// handleWxLogin is the stand-in for wx.login: POST /_sim/wx/login with the
// X-Sim-User header (a test person's key or openid) answers {"code": ...}.
func (s *Sim) handleWxLogin(w http.ResponseWriter, r *http.Request) {
	s.hit("wx.login")
	code, err := s.IssueMiniCode(r.Header.Get("X-Sim-User"))
	if err != nil {
		http.Error(w, "wechatsim: unknown X-Sim-User", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]string{"code": code})
}

// checkMiniApp validates the mini program's appid and secret.
func (s *Sim) checkMiniApp(q url.Values) (apiError, bool) {
	switch appid := q.Get("appid"); {
	case appid == "":
		return 41002, false
	case appid != s.o.MiniAppID:
		return 40013, false
	}
	switch secret := q.Get("secret"); {
	case secret == "":
		return 41004, false
	case secret != s.o.MiniSecret:
		return 40125, false
	}
	return 0, true
}

// overRate counts one jscode2session call of u and reports whether u made
// more than MiniRate of them in the current minute. Caller holds s.mu.
func (s *Sim) overRate(u *simUser, now time.Time) bool {
	w := now.Truncate(time.Minute)
	r := s.miniRate[u.Key]
	if r == nil || !r.window.Equal(w) {
		r = &rateRec{window: w}
		s.miniRate[u.Key] = r
	}
	r.calls++
	return r.calls > s.o.MiniRate
}

type rateRec struct {
	window time.Time
	calls  int
}

// jscode2session is the mini program login: the mini program's credentials,
// a code from the wx.login stand-in, used up by its first call (40163 after,
// 42003 past 5 minutes, 40029 for codes it never issued or issued to the
// web login), and 45011 for a person over the rate (the code stays unused).
func (s *Sim) jscode2session(_ *http.Request, q url.Values) any {
	if e, ok := s.checkMiniApp(q); !ok {
		return e
	}
	if q.Get("grant_type") != "authorization_code" {
		return apiError(40002)
	}
	code := q.Get("js_code")
	if code == "" {
		return apiError(41008)
	}
	s.mu.Lock()
	rec, ok := s.codes[code]
	if ok && rec.app == appMini && s.overRate(s.user(rec.userKey), s.o.Now()) {
		s.mu.Unlock()
		return apiError(45011)
	}
	s.mu.Unlock()
	u, _, e := s.useCode(code, appMini)
	if e != 0 {
		return e
	}
	return struct {
		OpenID     string `json:"openid"`
		SessionKey string `json:"session_key"`
		UnionID    string `json:"unionid,omitempty"`
	}{u.MiniOpenID, randomKey(), u.UnionID}
}
