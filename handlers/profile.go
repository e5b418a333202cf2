package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// profile shows the logged-in user; anonymous visitors start a login.
func (h *Handler) profile(c *gin.Context) {
	u, _, err := h.currentUser(c)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	if u == nil {
		c.Redirect(http.StatusFound, "/wechat/entry?next=/profile")
		return
	}
	h.render(c, http.StatusOK, "profile", templateData{User: u})
}

// logout ends the session server-side: the old cookie opens nothing afterwards.
func (h *Handler) logout(c *gin.Context) {
	s, err := h.session(c)
	if err != nil {
		h.unavailable(c, err)
		return
	}
	if err := h.sessions.Destroy(c.Request, c.Writer, s); err != nil {
		h.unavailable(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/")
}
