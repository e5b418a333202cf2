package handlers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/sessions"

	"wxlogin/dbsession"
	"wxlogin/models"
	"wxlogin/qrlogin"
)

// The computer login by QR code (issue 16; DESIGN.md: /login/qr...). The
// computer's browser shows a code and polls its status; the phone scans it
// in WeChat, logs in if needed, and confirms. Tickets and their states are
// the qrlogin package; this file is the HTTP around them.

// Status polling limits. The page polls about once a second at most; a
// client (address and browser) gets a burst of 10 and 2 a second after
// that, an address (a whole office behind one NAT) 100 and 30 a second.
// Keys are bounded in number, so a flood of addresses costs bounded memory.
const (
	pollRate, pollBurst     = 2, 10
	pollIPRate, pollIPBurst = 30, 100
	createRate, createBurst = 2, 60
	limiterKeys             = 20000
)

// qrLimits are the in-memory token buckets of this instance.
type qrLimits struct {
	poll, pollIP, create *qrlogin.Limiter
}

func newQRLimits(now func() time.Time) *qrLimits {
	return &qrLimits{
		poll:   qrlogin.NewLimiter(pollRate, pollBurst, limiterKeys, now),
		pollIP: qrlogin.NewLimiter(pollIPRate, pollIPBurst, limiterKeys, now),
		create: qrlogin.NewLimiter(createRate, createBurst, limiterKeys, now),
	}
}

// qrPageData is the computer's code page.
type qrPageData struct {
	Ticket    string
	ScanURL   string
	Status    string
	ExpiresAt int64 // unix milliseconds, for the countdown
	Expires   string
	Seconds   int
}

// qrLogin is the computer's page: a new code, or with ?t= the no-script
// "check" button's answer for this browser's code.
func (h *Handler) qrLogin(c *gin.Context) {
	q, ok := singleValues(c, "t")
	if !ok {
		h.errorPage(c, http.StatusBadRequest, pageBadRequest)
		return
	}
	u, s, err := h.currentUser(c)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	if u != nil {
		c.Redirect(http.StatusFound, defaultNext)
		return
	}
	if t, ok := q["t"]; ok {
		h.qrCheck(c, s, t)
		return
	}
	if !h.qrLimits.create.Allow(c.ClientIP()) {
		c.Header("Retry-After", "5")
		h.qrMessage(c, http.StatusTooManyRequests, computerMessages["slow_down"])
		return
	}
	// Saving gives a first visit its browser id, and the sealed cookie a
	// fresh lifetime that outlives the ticket bound to it.
	if err := s.Save(c.Request, c.Writer); err != nil {
		h.unavailable(c, err)
		return
	}
	t, tk, err := h.qr.Create(c.Request.Context(), h.sessions.BrowserID(c.Request), c.Request.UserAgent(), c.ClientIP())
	if err != nil {
		h.unavailable(c, err)
		return
	}
	h.qrPage(c, t, tk)
}

// qrPage renders the code page for a live ticket.
func (h *Handler) qrPage(c *gin.Context, t string, tk *qrlogin.Ticket) {
	scan := h.cfg.BaseURL.String() + "/login/qr/scan?t=" + t
	left := int(tk.ExpiresAt.Sub(h.now()).Seconds())
	d := qrPageData{Ticket: t, ScanURL: scan, Status: tk.Status, ExpiresAt: tk.ExpiresAt.UnixMilli(),
		Expires: h.tmpl.fmtClock(tk.ExpiresAt), Seconds: max(left, 0)}
	h.render(c, http.StatusOK, "qr_login", templateData{QR: qrSVGLabel(scan, "扫码登录的二维码，用手机微信扫一扫"), Data: d})
}

// qrCheck answers the no-script button: log in, show the code again, or
// say it is over.
func (h *Handler) qrCheck(c *gin.Context, s *sessions.Session, t string) {
	browser := h.sessions.PresentedID(c.Request)
	if !h.allowPoll(c, browser) {
		return
	}
	st, uid, err := h.qr.Status(c.Request.Context(), t, browser)
	switch {
	case errors.Is(err, qrlogin.ErrNotFound):
		h.qrMessage(c, http.StatusNotFound, computerMessages["not_found"])
		return
	case err != nil:
		h.unavailable(c, err)
		return
	}
	switch st {
	case qrlogin.Confirmed:
		if h.qrLogIn(c, s, uid) {
			c.Redirect(http.StatusSeeOther, defaultNext)
		}
	case qrlogin.Waiting, qrlogin.Scanned:
		tk, err := h.qr.Owned(c.Request.Context(), t, browser)
		if err != nil {
			h.qrMessage(c, http.StatusNotFound, computerMessages["not_found"])
			return
		}
		h.qrPage(c, t, tk)
	default:
		h.qrMessage(c, http.StatusOK, computerMessages[st])
	}
}

// qrStatus is the JSON the computer's page polls. Only the browser that
// owns the ticket learns anything; everybody else gets 404, whatever the
// ticket's state, and is never logged in.
func (h *Handler) qrStatus(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	browser := h.sessions.PresentedID(c.Request)
	if !h.allowPollJSON(c, browser) {
		return
	}
	q, ok := singleValues(c, "t")
	if !ok || !qrlogin.Valid(q["t"]) {
		c.JSON(http.StatusNotFound, gin.H{"error": "not_found"})
		return
	}
	s, err := h.session(c)
	if err != nil {
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "unavailable"})
		return
	}
	st, uid, err := h.qr.Status(c.Request.Context(), q["t"], browser)
	switch {
	case errors.Is(err, qrlogin.ErrNotFound):
		c.JSON(http.StatusNotFound, gin.H{"error": "not_found"})
		return
	case err != nil:
		h.log.ErrorContext(c.Request.Context(), "qr login status", "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "unavailable"})
		return
	}
	if st != qrlogin.Confirmed {
		c.JSON(http.StatusOK, gin.H{"status": st})
		return
	}
	u, err := h.store.UserByID(c.Request.Context(), uid)
	if err != nil || u.Disabled {
		// The approver was deleted or disabled since: nobody logs in.
		c.JSON(http.StatusOK, gin.H{"status": qrlogin.Cancelled})
		return
	}
	if err := h.logIn(c, s, uid, "", nil); err != nil {
		h.log.ErrorContext(c.Request.Context(), "qr login: saving the session", "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"error": "unavailable"})
		return
	}
	h.loginOutcome("qr")
	c.JSON(http.StatusOK, gin.H{"status": qrlogin.Confirmed, "next": defaultNext})
}

// qrLogIn logs the computer in as the approving user (a new session id,
// like the callback), or renders why not.
func (h *Handler) qrLogIn(c *gin.Context, s *sessions.Session, uid int64) bool {
	u, err := h.store.UserByID(c.Request.Context(), uid)
	if errors.Is(err, models.ErrNotFound) || (err == nil && u.Disabled) {
		h.qrMessage(c, http.StatusForbidden, computerMessages["disabled"])
		return false
	}
	if err == nil {
		err = h.logIn(c, s, uid, "", nil)
	}
	if err != nil {
		h.unavailable(c, err)
		return false
	}
	h.loginOutcome("qr")
	return true
}

// allowPoll takes a token from the client's and the address's buckets. A
// client is its address and browser: a flood from one client, with or
// without a cookie, never uses up the owner's own bucket.
func (h *Handler) allowPoll(c *gin.Context, browser string) bool {
	if h.pollAllowed(c, browser) {
		return true
	}
	c.Header("Retry-After", "2")
	h.qrMessage(c, http.StatusTooManyRequests, computerMessages["slow_down"])
	return false
}

func (h *Handler) allowPollJSON(c *gin.Context, browser string) bool {
	if h.pollAllowed(c, browser) {
		return true
	}
	c.Header("Retry-After", "2")
	c.AbortWithStatusJSON(http.StatusTooManyRequests, gin.H{"error": "slow_down"})
	return false
}

func (h *Handler) pollAllowed(c *gin.Context, browser string) bool {
	ip := c.ClientIP()
	client := ip + "|-"
	if browser != "" {
		client = ip + "|" + qrlogin.BrowserHash(browser)[:24]
	}
	if !h.qrLimits.poll.Allow(client) {
		h.metrics.Logins.WithLabelValues("qr_poll_limited").Inc()
		return false
	}
	return h.qrLimits.pollIP.Allow(ip)
}

// qrScanData is the phone's confirmation page.
type qrScanData struct {
	Ticket  string
	CSRF    string
	Browser string
	OS      string
	Created string
	IP      string
}

// qrScan is the scanned URL, opened in WeChat: log in first if needed,
// then mark the code scanned and ask to confirm.
func (h *Handler) qrScan(c *gin.Context) {
	c.Header("Referrer-Policy", "no-referrer")
	q, ok := singleValues(c, "t")
	if !ok || !qrlogin.Valid(q["t"]) {
		h.qrMessage(c, http.StatusNotFound, phoneMessages["not_found"])
		return
	}
	t := q["t"]
	u, _, err := h.currentUser(c)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	if u == nil {
		c.Redirect(http.StatusFound, "/wechat/entry?next="+url.QueryEscape("/login/qr/scan?t="+t))
		return
	}
	tk, err := h.qr.Scan(c.Request.Context(), t, u.ID)
	if h.qrPhoneFailed(c, err) {
		return
	}
	d := qrScanData{Ticket: t, CSRF: h.qrCSRF(c.Request, t), Browser: tk.Computer.Browser, OS: tk.Computer.OS,
		Created: h.tmpl.fmtClock(tk.CreatedAt), IP: tk.IP}
	h.render(c, http.StatusOK, "qr_confirm", templateData{User: u, Data: d})
}

// qrConfirm is the phone's 确认登录 or 取消: a POST with the CSRF token of
// the confirmation page, by the person who scanned the code.
func (h *Handler) qrConfirm(c *gin.Context) {
	c.Header("Referrer-Policy", "no-referrer")
	if err := c.Request.ParseForm(); err != nil {
		h.qrMessage(c, http.StatusBadRequest, phoneMessages["forbidden"])
		return
	}
	f := c.Request.PostForm
	if len(f["t"]) != 1 || len(f["csrf"]) != 1 || len(f["action"]) != 1 || !qrlogin.Valid(f.Get("t")) {
		h.qrMessage(c, http.StatusBadRequest, phoneMessages["forbidden"])
		return
	}
	t, action := f.Get("t"), f.Get("action")
	if action != "confirm" && action != "cancel" {
		h.qrMessage(c, http.StatusBadRequest, phoneMessages["forbidden"])
		return
	}
	u, _, err := h.currentUser(c)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	if u == nil || !h.qrCSRFValid(c.Request, t, f.Get("csrf")) {
		h.qrMessage(c, http.StatusForbidden, phoneMessages["forbidden"])
		return
	}
	ctx := c.Request.Context()
	if action == "cancel" {
		if h.qrPhoneFailed(c, h.qr.Cancel(ctx, t, u.ID)) {
			return
		}
		h.qrMessage(c, http.StatusOK, phoneMessages["cancelled_now"])
		return
	}
	if h.qrPhoneFailed(c, h.qr.Confirm(ctx, t, u.ID, dbsession.HashID(h.sessions.PresentedID(c.Request)), c.ClientIP())) {
		return
	}
	h.qrMessage(c, http.StatusOK, phoneMessages["confirmed_now"])
}

// qrPhoneFailed renders the phone's page for a ticket that cannot be used.
func (h *Handler) qrPhoneFailed(c *gin.Context, err error) bool {
	var fe *qrlogin.FinalError
	switch {
	case err == nil:
		return false
	case errors.Is(err, qrlogin.ErrNotFound):
		h.qrMessage(c, http.StatusNotFound, phoneMessages["not_found"])
	case errors.As(err, &fe):
		m := phoneMessages[fe.Status]
		if m == nil {
			m = phoneMessages[qrlogin.Expired]
		}
		h.qrMessage(c, http.StatusGone, m)
	default:
		h.unavailable(c, err)
	}
	return true
}

func (h *Handler) qrMessage(c *gin.Context, status int, m *Message) {
	h.render(c, status, "message", templateData{Message: m})
	c.Abort()
}

// qrCSRF is the confirmation form's token: an HMAC of the phone's session
// id and the ticket under the newest session key. It needs no storage, and
// it is good only for this session and this code.
func (h *Handler) qrCSRF(r *http.Request, t string) string {
	return qrMAC(h.cfg.SessionKeys[0], h.sessions.PresentedID(r), t)
}

func (h *Handler) qrCSRFValid(r *http.Request, t, got string) bool {
	sid := h.sessions.PresentedID(r)
	if sid == "" || len(got) > 64 {
		return false
	}
	for _, k := range h.cfg.SessionKeys {
		if hmac.Equal([]byte(qrMAC(k, sid, t)), []byte(got)) {
			return true
		}
	}
	return false
}

func qrMAC(key []byte, sid, t string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("wxlogin qrlogin confirm v1\x00" + strconv.Itoa(len(sid)) + "\x00" + sid + "\x00" + t))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
