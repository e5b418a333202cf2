package app

import (
	"io"
	"log/slog"
	"strings"

	"wxlogin/config"
	"wxlogin/reqid"
)

// NewLogger returns the structured logger: JSON in production, text in
// development, at LOG_LEVEL. It writes every line to w as it is logged.
func NewLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	return slog.New(reqid.Handler{Handler: newLogHandler(cfg, w)})
}

// NewBufferedLogger is NewLogger for the server: Info and Debug lines are
// written to w in batches, at most 100 ms late; Warn and Error lines at
// once, with everything before them (logBuffer). Call close before exiting:
// it writes what is left.
func NewBufferedLogger(cfg *config.Config, w io.Writer) (log *slog.Logger, close func() error) {
	buf := newLogBuffer(w)
	return slog.New(reqid.Handler{Handler: flushingHandler{newLogHandler(cfg, buf), buf}}), buf.Close
}

func newLogHandler(cfg *config.Config, w io.Writer) slog.Handler {
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
	return h
}
