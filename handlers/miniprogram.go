package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"wxlogin/dbsession"
	"wxlogin/exchange"
	"wxlogin/models"
	"wxlogin/wechat"
)

// The mini program's login API: POST /api/miniprogram/login trades a
// wx.login js_code for a bearer token through the exactly-once gate; GET
// /api/me and POST /api/logout use the token. Routes exist only when a mini
// program is configured (or in simulator mode).

// maxMiniBody bounds the login's body: {"code": "..."} is under 200 bytes.
const maxMiniBody = 1 << 10

// maxJSCode bounds a js_code (WeChat's are 32 characters).
const maxJSCode = 128

// validJSCode checks a js_code's shape before any I/O: WeChat's codes are
// letters, digits, '-' and '_'. Nothing else is ever sent to WeChat or hashed.
func validJSCode(s string) bool {
	if len(s) < 8 || len(s) > maxJSCode {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// parseMiniLogin reads exactly {"code": "<string>"}: one object, one field
// named code once, a string, nothing after it. Anything else is bad input.
func parseMiniLogin(body []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	if t, err := dec.Token(); err != nil || t != "code" {
		return "", false
	}
	t, err := dec.Token()
	code, ok := t.(string)
	if err != nil || !ok {
		return "", false
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return "", false
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", false
	}
	return code, true
}

var (
	errBadContentType = apiError{Error: "unsupported_media_type", Message: "请求必须是 JSON（Content-Type: application/json）。"}
	errBadBody        = apiError{Error: "bad_request", Message: `请求内容必须是 {"code": "wx.login 得到的 code"}，不能有其他字段。`}
	errBadCode        = apiError{Error: "bad_code", Message: "code 格式不对。请重新调用 wx.login 获取新的 code。"}
	errCodeRejected   = apiError{Error: "code_rejected", Message: "登录凭证无效、已过期或已被使用。请重新调用 wx.login 获取新的 code 后再登录。"}
	errCodeExpired    = apiError{Error: "code_expired", Message: "登录凭证已过期。请重新调用 wx.login 获取新的 code 后再登录。"}
	errRateLimited    = apiError{Error: "rate_limited", Message: "登录太频繁，微信暂时拒绝了这次登录。请在 1 分钟后重新调用 wx.login 再登录。", RetryAfter: 60}
	errWeChatBusy     = apiError{Error: "wechat_busy", Message: "微信系统繁忙。请稍后重新调用 wx.login 再登录。", RetryAfter: 5}
	errWeChatDown     = apiError{Error: "wechat_unavailable", Message: "暂时连不上微信。请稍后重新调用 wx.login 再登录。", RetryAfter: 5}
	errWeChatFailed   = apiError{Error: "wechat_error", Message: "微信没有确认这次登录。请稍后再试；如果一直出现，请联系客服。"}
	errHighRisk       = apiError{Error: "user_refused", Message: "微信判断当前账号存在风险，拒绝了这次登录。"}
	errDisabled       = apiError{Error: "account_disabled", Message: "这个账号已被管理员停用，暂时不能登录。"}
	errBusy           = apiError{Error: "busy", Message: "登录处理繁忙，请稍后重试。", RetryAfter: 5}
	errStore          = apiError{Error: "unavailable", Message: "服务暂时不可用，请稍后再试。", RetryAfter: 5}
	errNoToken        = apiError{Error: "unauthorized", Message: "未登录或登录已失效，请重新登录。"}
)

// miniUser is the user as the API shows it.
type miniUser struct {
	ID      int64  `json:"id"`
	OpenID  string `json:"openid"`
	UnionID string `json:"unionid"`
}

// miniLogin is POST /api/miniprogram/login.
func (h *Handler) miniLogin(c *gin.Context) {
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != "application/json" {
		h.apiFail(c, http.StatusUnsupportedMediaType, errBadContentType)
		return
	}
	body, err := io.ReadAll(io.LimitReader(c.Request.Body, maxMiniBody+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.apiPage(c, http.StatusRequestEntityTooLarge, pageTooLarge)
			return
		}
		h.apiFail(c, http.StatusBadRequest, errBadBody)
		return
	}
	if len(body) > maxMiniBody {
		h.apiPage(c, http.StatusRequestEntityTooLarge, pageTooLarge)
		return
	}
	code, ok := parseMiniLogin(body)
	if !ok {
		h.apiFail(c, http.StatusBadRequest, errBadBody)
		return
	}
	if !validJSCode(code) {
		h.apiFail(c, http.StatusBadRequest, errBadCode)
		return
	}
	ctx := c.Request.Context()
	res, err := h.gate.Exchange(ctx, exchange.Request{Kind: exchange.KindMini, Code: code})
	if err != nil {
		status, e := miniFailure(err)
		if status >= 500 {
			h.log.WarnContext(ctx, "mini program login failed", "err", err, "status", status)
		}
		h.apiFail(c, status, e)
		return
	}
	if res.Disabled {
		h.apiFail(c, http.StatusForbidden, errDisabled)
		return
	}
	// A token per request: a duplicate request of one code is logged in as
	// the same user, with a session of its own.
	token, ttl, err := h.bearer.Issue(context.WithoutCancel(ctx), res.UserID, []byte(res.OpenID), c.Request.UserAgent())
	if err != nil {
		h.log.ErrorContext(ctx, "storing a mini program session failed", "err", err)
		h.apiFail(c, http.StatusServiceUnavailable, errStore)
		return
	}
	apiOK(c, gin.H{
		"token": token, "expires_in": int(ttl.Seconds()),
		"user": miniUser{ID: res.UserID, OpenID: res.OpenID, UnionID: res.UnionID},
	})
}

// miniFailure maps the gate's answer to a status and an error body.
func miniFailure(err error) (int, apiError) {
	var f *exchange.Failed
	switch {
	case errors.Is(err, exchange.ErrExpired):
		return http.StatusUnauthorized, errCodeExpired
	case errors.Is(err, exchange.ErrWaitTimeout):
		return http.StatusServiceUnavailable, errBusy
	case errors.As(err, &f):
		switch {
		case f.Kind == models.KindRejected || f.Kind == "abandoned":
			return http.StatusUnauthorized, errCodeRejected
		case f.ErrCode == wechat.ErrCodeRateLimited:
			return http.StatusTooManyRequests, errRateLimited
		case f.ErrCode == wechat.ErrCodeSystemBusy:
			return http.StatusServiceUnavailable, errWeChatBusy
		case f.ErrCode == wechat.ErrCodeHighRisk:
			return http.StatusForbidden, errHighRisk
		case f.Kind == "unavailable":
			return http.StatusBadGateway, errWeChatDown
		case f.Kind == "store":
			return http.StatusServiceUnavailable, errStore
		}
		return http.StatusBadGateway, errWeChatFailed
	}
	return http.StatusServiceUnavailable, errStore
}

// bearerToken is the request's "Authorization: Bearer TOKEN" ("" if none).
func bearerToken(c *gin.Context) string {
	v := c.GetHeader("Authorization")
	if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		return strings.TrimSpace(v[7:])
	}
	return ""
}

// miniSession returns the live session and user of the request's token,
// or answers 401 (or 503) itself and returns ok false.
func (h *Handler) miniSession(c *gin.Context) (*models.Session, *models.User, bool) {
	ctx := c.Request.Context()
	row, err := h.bearer.Check(ctx, bearerToken(c))
	if errors.Is(err, dbsession.ErrNoSession) {
		h.apiFail(c, http.StatusUnauthorized, errNoToken)
		return nil, nil, false
	}
	if err != nil {
		h.apiFail(c, http.StatusServiceUnavailable, errStore)
		return nil, nil, false
	}
	u, err := h.store.UserByID(ctx, *row.UserID)
	if errors.Is(err, models.ErrNotFound) || (err == nil && u.Disabled) {
		_ = h.bearer.End(ctx, bearerToken(c))
		h.apiFail(c, http.StatusUnauthorized, errNoToken)
		return nil, nil, false
	}
	if err != nil {
		h.apiFail(c, http.StatusServiceUnavailable, errStore)
		return nil, nil, false
	}
	return row, u, true
}

// me is GET /api/me: the token's user.
func (h *Handler) me(c *gin.Context) {
	row, u, ok := h.miniSession(c)
	if !ok {
		return
	}
	unionid := ""
	if u.UnionID != nil {
		unionid = *u.UnionID
	}
	apiOK(c, miniUser{ID: u.ID, OpenID: string(row.Data), UnionID: unionid})
}

// apiLogout is POST /api/logout: the token opens nothing afterwards.
func (h *Handler) apiLogout(c *gin.Context) {
	if _, _, ok := h.miniSession(c); !ok {
		return
	}
	if err := h.bearer.End(c.Request.Context(), bearerToken(c)); err != nil {
		h.apiFail(c, http.StatusServiceUnavailable, errStore)
		return
	}
	apiOK(c, gin.H{"ok": true})
}
