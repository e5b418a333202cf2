package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// healthz says the process is alive; it touches nothing else.
func (h *Handler) healthz(c *gin.Context) { c.String(http.StatusOK, "ok\n") }

// readyz says whether this instance can serve logins: the database answers
// within a second.
func (h *Handler) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), time.Second)
	defer cancel()
	if err := h.store.Ping(ctx); err != nil {
		c.Header("Retry-After", "5")
		c.String(http.StatusServiceUnavailable, "database unreachable\n")
		return
	}
	c.String(http.StatusOK, "ready\n")
}
