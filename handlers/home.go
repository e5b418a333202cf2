package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// home is the landing page with the "log in with WeChat" link.
func (h *Handler) home(c *gin.Context) {
	u, _, err := h.currentUser(c)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	// Outside WeChat, the page also offers the computer login by QR code.
	h.render(c, http.StatusOK, "home", templateData{User: u, AsksProfile: h.cfg.WeChatScope == "snsapi_userinfo",
		Data: homeData{QRLogin: h.qr != nil && !isWeChat(c.Request.UserAgent())}})
}

type homeData struct{ QRLogin bool }
