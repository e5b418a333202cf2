package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"wxlogin/config"
)

// sideListeners are the listeners beside the public one: /metrics on
// METRICS_ADDR (the public listener then answers 404 for it) and pprof on
// PPROF_ADDR — one listener when both name the same address. They are bound
// before the public listener, so a taken port stops the start with a message
// naming the variable, and they shut down together with it.
type sideListeners struct {
	log     *slog.Logger
	servers []*http.Server
	wg      sync.WaitGroup
}

// sideMuxes maps each side address to what it serves.
func sideMuxes(cfg *config.Config, metrics http.Handler) map[string]*http.ServeMux {
	muxes := map[string]*http.ServeMux{}
	mux := func(addr string) *http.ServeMux {
		if muxes[addr] == nil {
			muxes[addr] = http.NewServeMux()
		}
		return muxes[addr]
	}
	if cfg.MetricsAddr != "" {
		mux(cfg.MetricsAddr).Handle("GET /metrics", metrics)
	}
	if cfg.PprofAddr != "" {
		registerPprof(mux(cfg.PprofAddr))
	}
	return muxes
}

// startSide binds and serves the side listeners; with neither METRICS_ADDR
// nor PPROF_ADDR set it starts nothing.
func startSide(cfg *config.Config, metrics http.Handler, log *slog.Logger) (*sideListeners, error) {
	s := &sideListeners{log: log}
	for addr, mux := range sideMuxes(cfg, metrics) {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("%s %s: %w", sideVariable(cfg, addr), addr, err)
		}
		srv := &http.Server{
			Handler:           mux,
			ReadHeaderTimeout: 5 * time.Second,
			IdleTimeout:       90 * time.Second,
			MaxHeaderBytes:    16 << 10,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		s.servers = append(s.servers, srv)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("side listener stopped", "addr", addr, "err", err)
			}
		}()
		log.Info("side listener", "addr", ln.Addr().String(), "serves", sideServes(cfg, addr))
	}
	return s, nil
}

// Shutdown stops accepting, lets requests in flight (a scrape) finish within
// ctx, then closes what is left (a long pprof profile) and waits for the
// serving goroutines.
func (s *sideListeners) Shutdown(ctx context.Context) {
	for _, srv := range s.servers {
		if err := srv.Shutdown(ctx); err != nil {
			s.log.Warn("side listener: shutdown deadline passed, closing", "err", err)
			_ = srv.Close()
		}
	}
	s.wg.Wait()
}

func (s *sideListeners) close() {
	for _, srv := range s.servers {
		_ = srv.Close()
	}
	s.wg.Wait()
}

// sideVariable names the setting behind addr for error messages.
func sideVariable(cfg *config.Config, addr string) string {
	switch {
	case addr == cfg.MetricsAddr && addr == cfg.PprofAddr:
		return "METRICS_ADDR (and PPROF_ADDR)"
	case addr == cfg.MetricsAddr:
		return "METRICS_ADDR"
	default:
		return "PPROF_ADDR"
	}
}

func sideServes(cfg *config.Config, addr string) string {
	switch {
	case addr == cfg.MetricsAddr && addr == cfg.PprofAddr:
		return "/metrics, /debug/pprof/"
	case addr == cfg.MetricsAddr:
		return "/metrics"
	default:
		return "/debug/pprof/"
	}
}
