package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// The JSON API (/api/...) answers errors as {"error": CODE, "message":
// 中文说明}, never with an HTML page: its callers are programs (the mini
// program), which show the message and branch on the code.

// apiError is the body of every API error.
type apiError struct {
	Error      string `json:"error"`
	Message    string `json:"message"`
	RetryAfter int    `json:"retry_after,omitempty"` // seconds; also in the Retry-After header
}

// isAPI reports whether the request is for the JSON API.
func isAPI(c *gin.Context) bool { return strings.HasPrefix(c.Request.URL.Path, "/api/") }

// apiPages are the JSON forms of the message pages the middleware and the
// router answer with (bad input, too large, unknown route, ...).
var apiPages = map[string]apiError{
	pageBadRequest:  {Error: "bad_request", Message: "请求无效：内容不完整或格式不对。"},
	pageTooLarge:    {Error: "too_large", Message: "请求的内容超出了允许的大小。"},
	pageNotFound:    {Error: "not_found", Message: "接口不存在。"},
	pageForbidden:   {Error: "forbidden", Message: "请求被拒绝。"},
	pageInternal:    {Error: "internal", Message: "服务器出了点问题，请稍后再试。"},
	pageUnavailable: {Error: "unavailable", Message: "服务暂时不可用，请稍后再试。", RetryAfter: 5},
}

// apiPage is errorPage for the API.
func (h *Handler) apiPage(c *gin.Context, status int, page string) {
	e, ok := apiPages[page]
	if !ok {
		e = apiError{Error: page, Message: messages[page].Text}
	}
	if status == http.StatusServiceUnavailable && e.RetryAfter == 0 {
		e.RetryAfter = 5
	}
	if status == http.StatusMethodNotAllowed {
		e = apiError{Error: "method_not_allowed", Message: "不支持这种请求方法。"}
	}
	h.apiFail(c, status, e)
}

// apiFail answers an API error and stops the chain.
func (h *Handler) apiFail(c *gin.Context, status int, e apiError) {
	if e.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="wxlogin"`)
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(status, e)
	c.Abort()
}

// apiOK answers a JSON result that no cache may keep (it may hold a token).
func apiOK(c *gin.Context, v any) {
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, v)
}
