package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"wxlogin/dbsession"
)

// stateTTL is how long a state (and so a started login) stays valid. It is
// the sealed anonymous session's lifetime: a state lives in that cookie
// until login, and neither outlives the other.
const stateTTL = dbsession.AnonymousMaxAge

// entry is the URL in the Official Account menu. It binds a fresh state to
// this browser's session and sends the browser to WeChat's authorize page.
func (h *Handler) entry(c *gin.Context) {
	q, ok := singleValues(c, "next", "scope", "attempt", "refresh")
	if !ok {
		h.errorPage(c, http.StatusBadRequest, pageBadRequest)
		return
	}
	next := SafeNext(q["next"])
	attempt := 1
	if q["attempt"] == "2" {
		attempt = 2
	}
	u, s, err := h.currentUser(c)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	if u != nil && q["refresh"] == "" {
		c.Redirect(http.StatusFound, next)
		return
	}
	if !h.cfg.Simulator && !isWeChat(c.Request.UserAgent()) {
		h.openInWeChat(c, next)
		return
	}
	scope := entryScope(h.cfg.WeChatScope, q["scope"], u != nil)
	state, err := newState()
	if err != nil {
		h.errorPage(c, http.StatusInternalServerError, pageInternal)
		return
	}
	now := h.now()
	states := []loginState{{State: state, Next: next, Scope: scope, Created: now.Unix(), Attempt: attempt, Refresh: u != nil}}
	nextBytes := len(next)
	for _, ls := range loginStates(s) {
		if len(states) < maxLoginStates && now.Sub(time.Unix(ls.Created, 0)) < stateTTL &&
			nextBytes+len(ls.Next) <= maxStatesNext {
			states = append(states, ls)
			nextBytes += len(ls.Next)
		}
	}
	setLoginStates(s, states)
	if err := s.Save(c.Request, c.Writer); err != nil {
		h.unavailable(c, err)
		return
	}
	if h.entries != nil {
		h.entries.Add(now)
	}
	c.Header("Referrer-Policy", "no-referrer")
	c.Redirect(http.StatusFound, h.wx.AuthorizeURL(h.cfg.RedirectURI(), scope, state))
}

// ScopeAuto is WECHAT_SCOPE=auto, the default: a login is silent
// (snsapi_base: no consent page, openid only), and snsapi_userinfo is asked
// for only when the person taps to share their nickname and avatar (the
// profile's button, scope=snsapi_userinfo on the entry link) or a menu link
// names it for a page that needs it. WeChat's rules (2022-07-12) require
// exactly this; a page that asks for snsapi_userinfo as it opens is shown in
// snapshot mode. Once shared, the stored profile is kept by later silent
// logins, so nobody is asked twice.
const ScopeAuto = "auto"

// entryScope picks the scope of one trip to WeChat: the link's scope
// parameter when it names one, else the configured scope, where auto means
// snsapi_base for a login and snsapi_userinfo for a logged-in person who
// asked to refresh (the only reason they come back to the entry).
func entryScope(configured, asked string, loggedIn bool) string {
	if asked == "snsapi_base" || asked == "snsapi_userinfo" {
		return asked
	}
	if configured != ScopeAuto {
		return configured
	}
	if loggedIn {
		return "snsapi_userinfo"
	}
	return "snsapi_base"
}

// newState returns 128 random bits as 32 hex characters (WeChat allows
// [a-zA-Z0-9]{0,128}).
func newState() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func isWeChat(ua string) bool { return strings.Contains(ua, "MicroMessenger") }

// openInWeChat tells visitors in another browser to open the link in WeChat.
func (h *Handler) openInWeChat(c *gin.Context, next string) {
	entry := h.cfg.BaseURL.String() + "/wechat/entry?next=" + url.QueryEscape(next)
	h.render(c, http.StatusOK, "open_in_wechat", templateData{EntryURL: entry, QR: qrSVG(entry), Phone: isPhone(c.Request.UserAgent())})
}

// isPhone tells a phone's (or tablet's) browser by its User-Agent: there a
// QR code cannot be scanned by the same device, so the page leads with
// copying the link into WeChat instead.
func isPhone(ua string) bool {
	for _, s := range []string{"iPhone", "iPad", "iPod", "Android", "Mobile", "HarmonyOS"} {
		if strings.Contains(ua, s) {
			return true
		}
	}
	return false
}

// singleValues parses the query strictly: it must decode, and each named
// parameter may appear at most once. Duplicated parameters are how some
// attacks smuggle a second value past a check.
func singleValues(c *gin.Context, names ...string) (map[string]string, bool) {
	vals, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		return nil, false
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		v := vals[n]
		if len(v) > 1 {
			return nil, false
		}
		if len(v) == 1 {
			out[n] = v[0]
		}
	}
	return out, true
}
