package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// notifyCheck answers WeChat's server-configuration check
// (GET /wechat/notify); push.Service decides.
func (h *Handler) notifyCheck(c *gin.Context) {
	a := h.push.Check(c.Request.Context(), c.Request.URL.Query())
	c.Data(a.Status, "text/plain; charset=utf-8", []byte(a.Body))
}

// notify receives one push (POST /wechat/notify). The body is handed over
// unread: push.Service reads it only once the query's signature verified.
func (h *Handler) notify(c *gin.Context) {
	a := h.push.Receive(c.Request.Context(), c.Request.URL.Query(), c.Request.Body)
	c.Data(a.Status, "text/plain; charset=utf-8", []byte(a.Body))
}

// notifyOff is /wechat/notify without WECHAT_TOKEN: like any unknown path.
func (h *Handler) notifyOff(c *gin.Context) { h.errorPage(c, http.StatusNotFound, pageNotFound) }
