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
	scope := h.cfg.WeChatScope
	if s := q["scope"]; s == "snsapi_base" || s == "snsapi_userinfo" {
		scope = s
	}
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
	state, err := newState()
	if err != nil {
		h.errorPage(c, http.StatusInternalServerError, pageInternal)
		return
	}
	now := h.now()
	states := []loginState{{State: state, Next: next, Scope: scope, Created: now.Unix(), Attempt: attempt}}
	nextBytes := len(next)
	for _, ls := range loginStates(s) {
		if len(states) < maxLoginStates && now.Sub(time.Unix(ls.Created, 0)) < stateTTL &&
			nextBytes+len(ls.Next) <= maxStatesNext {
			states = append(states, ls)
			nextBytes += len(ls.Next)
		}
	}
	s.Values[loginStatesKey] = states
	if err := s.Save(c.Request, c.Writer); err != nil {
		h.unavailable(c, err)
		return
	}
	c.Header("Referrer-Policy", "no-referrer")
	c.Redirect(http.StatusFound, h.wx.AuthorizeURL(h.cfg.RedirectURI(), scope, state))
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
	h.render(c, http.StatusOK, "open_in_wechat", templateData{EntryURL: entry, QR: qrSVG(entry)})
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
