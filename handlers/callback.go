package handlers

import (
	"errors"
	"maps"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/sessions"

	"wxlogin/dbsession"
	"wxlogin/exchange"
	"wxlogin/models"
)

// callback is where WeChat sends the browser back. The state is checked
// against this browser's session before anything reaches WeChat; the code is
// then handed to the exactly-once gate, which also answers the Android
// duplicate request with the first request's result.
func (h *Handler) callback(c *gin.Context) {
	c.Header("Referrer-Policy", "no-referrer")
	q, ok := singleValues(c, "code", "state")
	if !ok {
		h.loginOutcome("bad_request")
		h.errorPage(c, http.StatusBadRequest, pageBadRequest)
		return
	}
	code, state := q["code"], q["state"]
	if !validState(state) {
		h.loginOutcome("bad_state")
		h.errorPage(c, http.StatusBadRequest, pageBadState)
		return
	}
	// Both are checked before any I/O: junk costs no database round trip.
	// An empty code is WeChat's "denied", handled below.
	if code != "" && !validCode(code) {
		h.loginOutcome("bad_request")
		h.errorPage(c, http.StatusBadRequest, pageBadRequest)
		return
	}
	s, err := h.session(c)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	ls, found := h.takeState(s, state)
	if code == "" {
		// No code: the person tapped "deny" on WeChat's consent page.
		if found {
			h.forgetState(c, s, state)
		}
		h.loginOutcome("cancelled")
		h.errorPage(c, http.StatusOK, pageCancelled)
		return
	}
	browser := h.sessions.PresentedID(c.Request)
	if browser == "" {
		// No session at all (a cookieless fetch, another device): this
		// request can neither own nor join a login, and WeChat is not called.
		h.loginOutcome("bad_state")
		h.errorPage(c, http.StatusBadRequest, pageBadState)
		return
	}
	if uid := sessionUserID(s); uid > 0 && !found {
		// Already logged in, e.g. the back button onto the callback URL: if
		// this code logged in this same user, just go on.
		if next, ok := h.gate.Replay(c.Request.Context(), code, uid); ok {
			h.loginOutcome("replay")
			c.Redirect(http.StatusFound, SafeNext(next))
			return
		}
	}
	req := exchange.Request{Code: code, State: state, BrowserID: browser, MayClaim: found}
	if found {
		req.Next, req.Scope, req.Refresh = ls.Next, ls.Scope, ls.Refresh
		req.Session = h.loginRow(c, s, state)
	}
	res, err := h.gate.Exchange(c.Request.Context(), req)
	if c.Request.Context().Err() != nil {
		// The browser gave up on this request (Android aborts the first
		// callback); the exchange is recorded and its duplicate logs in.
		c.Abort()
		return
	}
	if err != nil {
		h.callbackFailed(c, err, code, ls, found)
		return
	}
	if res.Disabled {
		h.loginOutcome("disabled")
		h.errorPage(c, http.StatusForbidden, pageDisabled)
		return
	}
	next := res.Next
	if next == "" {
		next = ls.Next
	}
	var written *models.Session
	if req.Session != nil && res.Session == req.Session.IDHash {
		written = req.Session
	}
	if err := h.logIn(c, s, res.UserID, state, written); err != nil {
		h.unavailable(c, err)
		return
	}
	if res.Duplicate {
		h.loginOutcome("duplicate")
	} else {
		h.loginOutcome("ok")
	}
	c.Redirect(http.StatusFound, SafeNext(next))
}

// logIn gives the browser a new session id carrying the user: the id the
// browser had before login (which an attacker may have planted) ends here.
// The id is the login's own (SaveLogin: derived from the browser and the
// state), so the duplicate requests of one login share one session.
func (h *Handler) logIn(c *gin.Context, s *sessions.Session, userID int64, state string, written *models.Session) error {
	s.Values[dbsession.UserIDKey] = userID
	setLoginStates(s, withoutState(loginStates(s), state))
	return h.sessions.SaveLogin(c.Request, c.Writer, s, state, written)
}

// loginRow is the session row logIn will save for this login (its values
// are the session's without the state; the user's id is a column), for
// the exchange's owner to write with the user; nil when logIn must write
// it itself (dbsession.Store.LoginRow).
func (h *Handler) loginRow(c *gin.Context, s *sessions.Session, state string) *models.Session {
	after := &sessions.Session{Values: maps.Clone(s.Values)}
	setLoginStates(after, withoutState(loginStates(after), state))
	row, ok := h.sessions.LoginRow(c.Request, s, after.Values, state)
	if !ok {
		return nil
	}
	return row
}

// callbackFailed maps the gate's errors to pages.
func (h *Handler) callbackFailed(c *gin.Context, err error, code string, ls loginState, found bool) {
	var failed *exchange.Failed
	switch {
	case errors.Is(err, exchange.ErrForeign), errors.Is(err, exchange.ErrUnknown):
		h.loginOutcome("bad_state")
		h.errorPage(c, http.StatusBadRequest, pageBadState)
	case errors.Is(err, exchange.ErrWaitTimeout):
		h.loginOutcome("timeout")
		h.errorPage(c, http.StatusServiceUnavailable, pageWeChatBusy)
	case errors.As(err, &failed):
		h.loginOutcome("failed_" + failed.Kind)
		switch {
		case failed.Kind == "snapshot":
			h.errorPage(c, http.StatusOK, pageSnapshot)
		case failed.Kind == models.KindMismatch:
			// Another code of this state logged in somebody else: a state
			// logs in one person. Nothing for this browser; log in again.
			h.errorPage(c, http.StatusBadRequest, pageBadState)
		case failed.Restartable() && (!found || ls.Attempt < 2):
			// WeChat rejected a code this app never exchanged (or its owner
			// vanished): start over once, silently. attempt=2 bounds it.
			h.metrics.Restarts.Inc()
			h.gate.MarkRestarted(c.Request.Context(), code)
			next := defaultNext
			if found {
				next = ls.Next
			}
			c.Redirect(http.StatusFound, "/wechat/entry?attempt=2&next="+url.QueryEscape(next))
		case failed.Restartable():
			h.errorPage(c, http.StatusBadGateway, pageWeChatFailed)
		case failed.Kind == "unavailable":
			h.errorPage(c, http.StatusServiceUnavailable, pageWeChatBusy)
		case failed.Kind == "store":
			h.errorPage(c, http.StatusServiceUnavailable, pageUnavailable)
		default:
			h.errorPage(c, http.StatusBadGateway, pageWeChatFailed)
		}
	default:
		h.log.ErrorContext(c.Request.Context(), "callback", "err", err)
		h.errorPage(c, http.StatusInternalServerError, pageInternal)
	}
}

// takeState finds a live state of this browser's session.
func (h *Handler) takeState(s *sessions.Session, state string) (loginState, bool) {
	for _, ls := range loginStates(s) {
		if ls.State == state {
			if h.now().Sub(time.Unix(ls.Created, 0)) > stateTTL {
				return loginState{}, false
			}
			return ls, true
		}
	}
	return loginState{}, false
}

func (h *Handler) forgetState(c *gin.Context, s *sessions.Session, state string) {
	setLoginStates(s, withoutState(loginStates(s), state))
	if err := s.Save(c.Request, c.Writer); err != nil {
		h.log.Warn("forgetting a state", "err", err)
	}
}

func withoutState(states []loginState, state string) []loginState {
	out := states[:0:0]
	for _, ls := range states {
		if ls.State != state {
			out = append(out, ls)
		}
	}
	return out
}

func (h *Handler) loginOutcome(result string) { h.metrics.Logins.WithLabelValues(result).Inc() }

// validState accepts exactly what entry issues: 32 lowercase hex characters.
func validState(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

// validCode accepts what WeChat issues (32 alphanumerics today) with room to
// grow, and nothing that needs escaping.
func validCode(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch == '_' || ch == '-') {
			return false
		}
	}
	return true
}
