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
	h.render(c, http.StatusOK, "home", templateData{User: u})
}
