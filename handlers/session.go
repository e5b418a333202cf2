package handlers

import (
	"encoding/gob"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/sessions"

	"wxlogin/dbsession"
	"wxlogin/models"
)

// loginState is one login in progress in this browser: the state sent to
// WeChat and what to do when the browser comes back with it.
type loginState struct {
	State   string
	Next    string
	Scope   string
	Created int64 // unix seconds
	Attempt int   // 1, or 2 after one silent restart
	// Refresh: started by a logged-in person (刷新资料, or sharing the
	// nickname after a silent login): stored, but not counted as a login.
	Refresh bool
}

const loginStatesKey = "login"

// maxLoginStates bounds the logins one browser may have in flight (tabs).
const maxLoginStates = 5

// maxStatesNext bounds the next paths of one browser's states together.
// Before login the session is a sealed cookie (dbsession), which must stay
// well under the browsers' 4 KB: the newest state is always kept (SafeNext
// bounds its next to 512 bytes), older tabs' states only within this budget.
const maxStatesNext = 1024

// init registers the type the previous version stored with gob, so that
// sessions and pre-login cookies it wrote still load (see loginstates.go).
func init() {
	gob.Register([]loginState{})
}

// session returns the request's user session. A database failure is
// reported so the caller can answer 503; a bad cookie is simply anonymous.
func (h *Handler) session(c *gin.Context) (*sessions.Session, error) {
	s, err := h.sessions.Get(c.Request, "")
	if err == nil {
		upgradeLoginStates(s)
	}
	return s, err
}

func sessionUserID(s *sessions.Session) int64 {
	id, _ := s.Values[dbsession.UserIDKey].(int64)
	return id
}

// currentUser returns the logged-in, enabled user or nil. A disabled or
// deleted user's session is ended on the spot.
func (h *Handler) currentUser(c *gin.Context) (*models.User, *sessions.Session, error) {
	s, err := h.session(c)
	if err != nil {
		return nil, nil, err
	}
	if err := h.sessions.Reissue(c.Request, c.Writer); err != nil {
		h.log.WarnContext(c.Request.Context(), "re-issuing a session cookie", "err", err)
	}
	uid := sessionUserID(s)
	if uid == 0 {
		return nil, s, nil
	}
	// Normally read with the session in one statement; a session saved
	// in this request reads it here.
	u, loaded := h.sessions.LoadedUser(c.Request, uid)
	if !loaded {
		u, err = h.store.UserByID(c.Request.Context(), uid)
	} else if u == nil {
		err = models.ErrNotFound
	}
	if errors.Is(err, models.ErrNotFound) || (err == nil && u.Disabled) {
		if derr := h.sessions.Destroy(c.Request, c.Writer, s); derr != nil {
			h.log.Warn("ending a dead user's session", "err", derr)
		}
		return nil, s, nil
	}
	if err != nil {
		return nil, s, err
	}
	return u, s, nil
}

// statusClientClosed is nginx's "client closed request": what the access
// log and metrics record when the browser left before the answer.
const statusClientClosed = 499

// unavailable answers 503 when the database cannot be reached. A query that
// failed only because the browser went away is no outage: Android WeChat
// aborts its first callback, and in a login storm the abort can arrive
// before the server got to the request. That is recorded as 499, without
// an error line or a 5xx that would page someone.
func (h *Handler) unavailable(c *gin.Context, err error) {
	if c.Request.Context().Err() != nil {
		c.AbortWithStatus(statusClientClosed)
		return
	}
	h.log.ErrorContext(c.Request.Context(), "database unavailable", "err", err)
	h.errorPage(c, http.StatusServiceUnavailable, pageUnavailable)
}
