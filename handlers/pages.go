package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// Every page a person can end up on when something is not right, with the
// words they read. Nothing here ever shows a raw error or WeChat's errmsg.
const (
	pageBadState     = "bad_state"
	pageBadRequest   = "bad_request"
	pageCancelled    = "cancelled"
	pageWeChatBusy   = "wechat_busy"
	pageWeChatFailed = "wechat_failed"
	pageSnapshot     = "snapshot"
	pageDisabled     = "disabled"
	pageNotFound     = "not_found"
	pageForbidden    = "forbidden"
	pageInternal     = "internal"
	pageUnavailable  = "unavailable"
	pageTooLarge     = "too_large"
)

const retryLogin = "/wechat/entry?next=/profile"

var messages = map[string]*Message{
	pageBadState: {Icon: "warn", Title: "登录链接已失效",
		Text:     "这个登录链接已过期、已被使用，或不是在这个浏览器里打开的。请重新登录。",
		RetryURL: retryLogin, RetryLabel: "重新登录"},
	pageBadRequest: {Icon: "warn", Title: "请求无效",
		Text:     "链接的内容不完整或格式不对。请从公众号菜单重新进入。",
		RetryURL: retryLogin, RetryLabel: "重新登录"},
	pageCancelled: {Icon: "info", Title: "已取消登录",
		Text:     "你没有同意授权，所以没有登录。需要时可以再试一次。",
		RetryURL: retryLogin, RetryLabel: "重新登录"},
	pageWeChatBusy: {Icon: "waiting", Title: "微信繁忙",
		Text:     "微信暂时没有响应，请稍后再试。",
		RetryURL: retryLogin, RetryLabel: "重试"},
	pageWeChatFailed: {Icon: "warn", Title: "登录没有成功",
		Text:     "微信没有确认这次登录。请重新登录；如果一直出现，请稍后再试。",
		RetryURL: retryLogin, RetryLabel: "重新登录"},
	// WeChat opens a page in "snapshot" mode when it would ask for the
	// profile as it opens, wherever the link was tapped (not only in
	// Moments); WeChat itself shows the button to go on. Not an error: no
	// reference number.
	pageSnapshot: {Icon: "info", Title: "请使用完整服务",
		Text:  "这是微信的预览模式，还不能登录。请轻触屏幕右下角的“使用完整服务”，同意后即可继续。",
		NoRef: true},
	pageDisabled: {Icon: "warn", Title: "账号已停用",
		Text: "这个账号已被管理员停用，暂时不能登录。如有疑问，请联系公众号客服。"},
	pageNotFound: {Icon: "info", Title: "页面不存在",
		Text: "你要找的页面不存在或已被移走。"},
	pageForbidden: {Icon: "warn", Title: "请求被拒绝",
		Text: "这个请求来自其他网站，或缺少安全校验，已被拒绝。请回到页面重新操作。"},
	pageInternal: {Icon: "warn", Title: "出错了",
		Text:     "服务器出了点问题，我们已经记录下来。请稍后再试。",
		RetryURL: "/", RetryLabel: "重试"},
	pageUnavailable: {Icon: "waiting", Title: "服务暂时不可用",
		Text:     "服务正在恢复中，请稍后再试。",
		RetryURL: retryLogin, RetryLabel: "重试"},
	pageTooLarge: {Icon: "warn", Title: "请求过大",
		Text: "请求的内容超出了允许的大小。"},
}

// errorPage renders one of the message pages with a status and stops the chain.
func (h *Handler) errorPage(c *gin.Context, status int, page string) {
	if isAPI(c) {
		h.apiPage(c, status, page)
		return
	}
	m := *messages[page]
	if status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "5")
	}
	h.render(c, status, "message", templateData{Message: &m})
	c.Abort()
}
