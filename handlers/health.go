package handlers

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// healthz says the process is alive; it touches nothing else.
func (h *Handler) healthz(c *gin.Context) { c.String(http.StatusOK, "ok\n") }

// readyz says whether this instance can serve logins: the database answers
// within a second. The first line is the verdict; the lines under it say how
// the database and the exchange wake-ups are reached (wake-ups that are not
// delivered cost latency, not readiness: waiters poll faster meanwhile).
func (h *Handler) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), time.Second)
	defer cancel()
	status, verdict := http.StatusOK, "ready"
	if err := h.store.Ping(ctx); err != nil {
		c.Header("Retry-After", "5")
		status, verdict = http.StatusServiceUnavailable, "database unreachable"
	}
	var b strings.Builder
	b.WriteString(verdict + "\n")
	if h.ready != nil {
		for _, l := range h.ready() {
			b.WriteString(l + "\n")
		}
	}
	c.String(status, "%s", b.String())
}
