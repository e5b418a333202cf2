package admin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/gorilla/sessions"
	"golang.org/x/crypto/bcrypt"

	"wxlogin/dbsession"
	"wxlogin/handlers"
	"wxlogin/models"
)

// Keys in the gin context and the admin session.
const (
	ctxAdmin   = "admin.admin"
	ctxCSRF    = "admin.csrf"
	ctxSession = "admin.session"
	csrfKey    = "csrf"
	csrfField  = "csrf"
)

// loginCookie carries the login form's double-submit token: there is no
// admin session before login, so the form's token is checked against it.
const loginCookie = "wxl_admin_login"

// dummyHash is a bcrypt hash (cost 12, like real ones) of a random password
// nobody knows. An unknown user name is checked against it so that the
// answer takes as long as for a real admin and does not reveal which names exist.
const dummyHash = "$2a$12$vBPSGNlh4Fgtkyo7TeQBqOpS.ZpVdKx9TijQHpb28DCjvqXg2pDgW"

// Bounds of the login form; longer input is refused before any work.
const (
	maxUsername = 64
	maxPassword = 128
)

type loginData struct {
	Username string
	Next     string
	Token    string
	Error    string
	// The lockout policy, told to the person before they get locked.
	AccountMax, AccountTotalMax, IPMax, LockMinutes int
}

// loginPage shows the login form. A logged-in admin goes straight on.
func (a *Admin) loginPage(c *gin.Context) {
	q, ok := strictQuery(c, "next")
	if !ok {
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	next := safeAdminNext(q.Get("next"))
	if adm, _, err := a.currentAdmin(c); err == nil && adm != nil {
		c.Redirect(http.StatusFound, next)
		return
	}
	a.renderLogin(c, http.StatusOK, loginData{Next: next})
}

// renderLogin renders the form with a fresh double-submit token.
func (a *Admin) renderLogin(c *gin.Context, status int, d loginData) {
	tok, err := randomToken()
	if err != nil {
		a.fail(c, http.StatusInternalServerError, message{Title: "出错了", Text: "请稍后再试。"})
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: a.loginCookieName(), Value: tok, Path: "/admin/login", MaxAge: 3600,
		HttpOnly: true, Secure: a.cfg.Secure(), SameSite: http.SameSiteStrictMode,
	})
	d.Token = tok
	d.AccountMax, d.AccountTotalMax, d.IPMax = a.policy.AccountMax, a.policy.AccountTotalMax, a.policy.IPMax
	d.LockMinutes = int(a.policy.LockFor.Minutes())
	a.render(c, status, "login", pageData{Title: "管理员登录", Data: d})
}

func (a *Admin) loginCookieName() string {
	if a.cfg.Secure() {
		return "__Secure-" + loginCookie
	}
	return loginCookie
}

// loginSubmit checks a user name and password. Every attempt is counted
// against the client address, the account and the browser's known-device
// cookie before the password is looked at (see throttle.go and
// models.ThrottleAttempt); a locked attempt gets 429.
func (a *Admin) loginSubmit(c *gin.Context) {
	ck, err := c.Request.Cookie(a.loginCookieName())
	if err != nil || !tokensEqual(ck.Value, c.PostForm(csrfField)) {
		a.fail(c, http.StatusForbidden, message{Title: msgForbidden.Title, Text: msgForbidden.Text,
			BackURL: "/admin/login", BackLabel: "重新登录"})
		return
	}
	username := strings.TrimSpace(c.PostForm("username"))
	password := c.PostForm("password")
	next := safeAdminNext(c.PostForm("next"))
	if username == "" || password == "" || len(username) > maxUsername || len(password) > maxPassword {
		a.renderLogin(c, http.StatusBadRequest, loginData{Username: clip(username, maxUsername), Next: next,
			Error: "请输入用户名和密码。"})
		return
	}
	ctx := c.Request.Context()
	now := a.now()
	p := a.policy
	a.purgeThrottle(c, now)
	ip := c.ClientIP()
	adm, err := a.db.AdminByUsername(ctx, username)
	if err != nil && !errors.Is(err, models.ErrNotFound) {
		a.unavailable(c, err)
		return
	}
	var dev *device
	if adm != nil {
		dev = a.knownDevice(c.Request, adm.ID)
	}
	th, err := a.countAttempt(ctx, username, ip, dev, now)
	if err != nil {
		a.unavailable(c, err)
		return
	}
	// Audit only the attempts that set an account lock, so an attack cannot
	// flood the audit log. Such an attempt may still go on to the password
	// check (an address that had not failed before, see throttle.go).
	if adm != nil {
		for _, l := range th.newLocks {
			a.record(c, adm, "login_locked", "admin:"+adm.Username, l.detail+"，至 "+a.tmpl.fmtTime(l.until))
		}
	}
	if th.locked != nil {
		a.log.WarnContext(ctx, "admin login refused: locked", "ip", ip, "lock", th.lockDetail, "known_device", dev != nil)
		a.locked(c, *th.locked)
		return
	}
	hash := dummyHash
	if adm != nil {
		hash = adm.PasswordHash
	}
	match := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	if !match || adm == nil || adm.Disabled {
		if adm != nil {
			detail := "密码错误"
			if match {
				detail = "账号已停用"
			}
			a.record(c, adm, "login_failed", "admin:"+adm.Username, detail)
		}
		a.log.WarnContext(ctx, "admin login failed", "ip", ip, "failures", th.failures)
		a.sleep(ctx, min(time.Duration(th.failures)*p.SlowStep, p.SlowMax))
		msg := "用户名或密码错误，或账号已停用。"
		switch {
		case th.failures == p.AccountMax-1:
			msg += "再输错一次，这个账号在本网络地址就会被暂时锁定。"
		case th.failures >= p.AccountMax:
			msg += "输错次数已达上限：再试一次就会被暂时锁定，请先确认密码。"
		}
		a.renderLogin(c, http.StatusUnauthorized, loginData{Username: username, Next: next, Error: msg})
		return
	}
	if err := a.goodAttempt(ctx, username, ip, dev); err != nil {
		a.unavailable(c, err)
		return
	}
	sess, err := a.sessions.Get(c.Request, "")
	if err != nil {
		a.unavailable(c, err)
		return
	}
	// A new id at every login: an id planted before is worthless after.
	if err := a.sessions.Renew(c.Request, sess); err != nil {
		a.unavailable(c, err)
		return
	}
	tok, err := randomToken()
	if err != nil {
		a.fail(c, http.StatusInternalServerError, message{Title: "出错了", Text: "请稍后再试。"})
		return
	}
	sess.Values = map[any]any{dbsession.AdminIDKey: adm.ID, csrfKey: tok}
	if err := sess.Save(c.Request, c.Writer); err != nil {
		a.unavailable(c, err)
		return
	}
	// This browser is now a known device of this admin: other addresses'
	// failures will not lock it out (throttle.go).
	if err := a.setKnownDevice(c.Writer, dev, adm.ID); err != nil {
		a.log.WarnContext(ctx, "setting the known-device cookie", "err", err)
	}
	if err := a.db.SetAdminLastLogin(ctx, adm.ID, now); err != nil {
		a.log.WarnContext(ctx, "recording admin last login", "err", err)
	}
	a.record(c, adm, "login", "admin:"+adm.Username, "")
	http.SetCookie(c.Writer, &http.Cookie{Name: a.loginCookieName(), Value: "", Path: "/admin/login", MaxAge: -1,
		HttpOnly: true, Secure: a.cfg.Secure(), SameSite: http.SameSiteStrictMode})
	c.Redirect(http.StatusSeeOther, next)
}

// locked answers 429 with when to try again.
func (a *Admin) locked(c *gin.Context, until time.Time) {
	wait := until.Sub(a.now())
	mins := int(wait.Minutes()) + 1
	c.Header("Retry-After", itoa(int(wait.Seconds())+1))
	a.fail(c, http.StatusTooManyRequests, message{
		Title: "登录尝试过多，已暂时锁定",
		Text: "为保护管理员账号，连续输错密码后，这个账号或你的网络地址会被暂时锁定。请在 " +
			a.tmpl.fmtTime(until) + "（约 " + itoa(mins) + " 分钟后）再试；锁定会自动解除。" +
			"急需登录时，运维人员可以在服务器上执行下面的命令，立即解除账号锁定：",
		Command: "wxlogin admin unlock --username 用户名",
		BackURL: "/admin/login", BackLabel: "返回登录页",
	})
}

// logout ends the admin session server-side.
func (a *Admin) logout(c *gin.Context) {
	adm := c.MustGet(ctxAdmin).(*models.Admin)
	sess := c.MustGet(ctxSession).(*sessions.Session)
	if err := a.sessions.Destroy(c.Request, c.Writer, sess); err != nil {
		a.unavailable(c, err)
		return
	}
	a.record(c, adm, "logout", "admin:"+adm.Username, "")
	c.Redirect(http.StatusSeeOther, "/admin/login")
}

// currentAdmin returns the logged-in, enabled admin or nil. A session of a
// disabled or deleted admin is ended on the spot.
func (a *Admin) currentAdmin(c *gin.Context) (*models.Admin, *sessions.Session, error) {
	sess, err := a.sessions.Get(c.Request, "")
	if err != nil {
		return nil, nil, err
	}
	aid, _ := sess.Values[dbsession.AdminIDKey].(int64)
	if aid == 0 {
		return nil, sess, nil
	}
	adm, err := a.db.AdminByID(c.Request.Context(), aid)
	if errors.Is(err, models.ErrNotFound) || (err == nil && adm.Disabled) {
		if derr := a.sessions.Destroy(c.Request, c.Writer, sess); derr != nil {
			a.log.WarnContext(c.Request.Context(), "ending a dead admin's session", "err", derr)
		}
		return nil, sess, nil
	}
	if err != nil {
		return nil, sess, err
	}
	return adm, sess, nil
}

// requireAdmin lets only a logged-in, enabled admin through; anybody else
// (no cookie, a WeChat user's session, an ended or expired admin session)
// is sent to the admin login. A state-changing request must also carry the
// session's CSRF token: the router's cross-origin check relies on headers
// that older browsers do not send.
func (a *Admin) requireAdmin(c *gin.Context) {
	adm, sess, err := a.currentAdmin(c)
	if err != nil {
		a.unavailable(c, err)
		return
	}
	if adm == nil {
		if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead {
			c.Redirect(http.StatusFound, "/admin/login?next="+url.QueryEscape(c.Request.URL.RequestURI()))
		} else {
			c.Redirect(http.StatusSeeOther, "/admin/login")
		}
		c.Abort()
		return
	}
	tok, _ := sess.Values[csrfKey].(string)
	if c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead {
		if !tokensEqual(tok, c.PostForm(csrfField)) {
			a.log.WarnContext(c.Request.Context(), "admin: CSRF token missing or wrong", "admin", adm.Username)
			a.fail(c, http.StatusForbidden, msgForbidden)
			return
		}
	}
	c.Set(ctxAdmin, adm)
	c.Set(ctxCSRF, tok)
	c.Set(ctxSession, sess)
	c.Next()
}

// tokensEqual compares a stored token with a submitted one in constant time;
// an empty token never matches.
func tokensEqual(want, got string) bool {
	return want != "" && len(got) == len(want) && subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// safeAdminNext keeps next only if it is a local admin page (not the login
// itself); anything else goes to the dashboard.
func safeAdminNext(raw string) string {
	if raw == "" || handlers.SafeNext(raw) != raw {
		return "/admin"
	}
	path := raw
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	if path != "/admin" && !strings.HasPrefix(path, "/admin/") || strings.HasPrefix(path, "/admin/login") ||
		strings.Contains(path, "/..") || strings.Contains(path, "%") {
		return "/admin"
	}
	return raw
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
