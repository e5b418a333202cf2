package app

import (
	"io"
	"log/slog"
	"strings"

	"wxlogin/config"
	"wxlogin/reqid"
)

// NewLogger returns the structured logger: JSON in production, text in
// development, at LOG_LEVEL.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	switch strings.ToLower(cfg.LogLevel) {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(reqid.Handler{Handler: h})
}
