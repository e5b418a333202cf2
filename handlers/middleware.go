package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gin-gonic/gin"

	"wxlogin/dbsession"
	"wxlogin/metrics"
	"wxlogin/reqid"
)

// maxBody bounds every request body; forms here are tiny.
const maxBody = 64 << 10

// maxQuery bounds the query string before anything parses it.
const maxQuery = 4096

func requestIDOf(ctx context.Context) string { return reqid.From(ctx) }

func requestID(c *gin.Context) string { return requestIDOf(c.Request.Context()) }

// requestContext gives every request an id (echoed in X-Request-Id and on
// error pages, so a person can quote it) and records the client address.
func (h *Handler) requestContext() gin.HandlerFunc {
	return func(c *gin.Context) {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id := hex.EncodeToString(b)
		ctx := reqid.With(c.Request.Context(), id)
		ctx = dbsession.WithClientIP(ctx, c.ClientIP())
		c.Request = c.Request.WithContext(ctx)
		c.Header("X-Request-Id", id)
		c.Next()
	}
}

// knownMethods refuses a request whose method is not a standard one (see
// metrics.Method) with 501 and a one-line plain-text answer, before anything
// else runs: no request id, no log line, no session or database work, and a
// single series made in advance counts it. A method is any token the client
// likes, up to the header limit; it must never reach a label or the log as
// sent (issue 17). Standard methods a route does not take still get 405.
func (h *Handler) knownMethods() gin.HandlerFunc {
	return func(c *gin.Context) {
		if metrics.KnownMethod(c.Request.Method) {
			c.Next()
			return
		}
		h.metrics.RefusedMethod()
		hd := c.Writer.Header()
		h.setSecurityHeaders(hd)
		hd.Set("Cache-Control", "no-store")
		hd.Set("Content-Type", "text/plain; charset=utf-8")
		c.Writer.WriteHeader(http.StatusNotImplemented)
		_, _ = c.Writer.WriteString("501 Not Implemented: unknown request method\n")
		c.Abort()
	}
}

// observe logs one line per request and feeds the request metrics. Every
// field is bounded: the route is the router's template (never the path, and
// never the query: the callback's query holds the code), the method is
// mapped to the standard set, the address is one the router parsed.
func (h *Handler) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = metrics.RouteUnmatched
		}
		status := c.Writer.Status()
		d := time.Since(start)
		h.metrics.Request(route, c.Request.Method, status, d)
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		if route == "/healthz" || route == "/readyz" || route == "/metrics" || route == "/static/*path" {
			level = slog.LevelDebug
		}
		h.log.LogAttrs(c.Request.Context(), level, "request", slog.String("method", metrics.Method(c.Request.Method)),
			slog.String("route", route), slog.Int("status", status), slog.Duration("duration", d),
			slog.String("ip", c.ClientIP()), slog.Bool("client_gone", c.Request.Context().Err() != nil))
	}
}

// securityHeaders sets the headers every response carries. No page uses
// inline script; the only images from elsewhere are WeChat avatars (https).
func (h *Handler) securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h.setSecurityHeaders(c.Writer.Header())
		c.Next()
	}
}

// setSecurityHeaders is securityHeaders for responses written outside the
// router too (the cross-origin refusal).
func (h *Handler) setSecurityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' https: data:; style-src 'self'; script-src 'self'; "+
		"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	// The callback URL carries the code: never let it leak in a Referer.
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	if h.cfg.Secure() {
		hd.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	}
}

// limitBody bounds request bodies and query strings before any parsing, and
// refuses queries and forms that do not decode or hold NUL or invalid UTF-8
// (see input.go).
func (h *Handler) limitBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		if len(c.Request.URL.RawQuery) > maxQuery {
			h.errorPage(c, http.StatusRequestURITooLong, pageBadRequest)
			return
		}
		if c.Request.ContentLength > maxBody {
			h.errorPage(c, http.StatusRequestEntityTooLarge, pageTooLarge)
			return
		}
		if !cleanEncoded(c.Request.URL.RawQuery) {
			h.errorPage(c, http.StatusBadRequest, pageBadRequest)
			return
		}
		if !isForm(c.Request) {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBody)
			c.Next()
			return
		}
		body, tooLarge, err := readForm(c.Request)
		switch {
		case tooLarge:
			h.errorPage(c, http.StatusRequestEntityTooLarge, pageTooLarge)
		case err != nil || !cleanEncoded(string(body)):
			h.errorPage(c, http.StatusBadRequest, pageBadRequest)
		default:
			c.Next()
		}
	}
}

// recoverer turns a panic into the 500 page and a log line with the stack;
// the person sees only the page and a reference number.
func (h *Handler) recoverer() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.log.ErrorContext(c.Request.Context(), "panic", "panic", v, "stack", string(debug.Stack()))
				if !c.Writer.Written() {
					h.errorPage(c, http.StatusInternalServerError, pageInternal)
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}
