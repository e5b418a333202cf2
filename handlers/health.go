package handlers

import (
	"context"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"wxlogin/static"
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

// staticFile serves embedded assets. URLs carry a content hash (?v=), so a
// fingerprinted request may be cached for a year.
func (h *Handler) staticFile(c *gin.Context) {
	name := strings.TrimPrefix(path.Clean(c.Param("path")), "/")
	b, err := fs.ReadFile(static.FS, name)
	if err != nil {
		h.errorPage(c, http.StatusNotFound, pageNotFound)
		return
	}
	if c.Query("v") != "" {
		c.Header("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		c.Header("Cache-Control", "public, max-age=300")
	}
	ct := "application/octet-stream"
	switch path.Ext(name) {
	case ".css":
		ct = "text/css; charset=utf-8"
	case ".svg":
		ct = "image/svg+xml"
	case ".png":
		ct = "image/png"
	case ".js":
		ct = "text/javascript; charset=utf-8"
	}
	c.Data(http.StatusOK, ct, b)
}
