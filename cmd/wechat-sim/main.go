// Command wechat-sim runs the WeChat simulator (package wechatsim) on its
// own, as docker compose does, so wxlogin can be run production-shaped with
// no WeChat account: point WECHAT_OAUTH_URL and WECHAT_API_URL at it.
//
// Configuration, flags overriding the environment:
//
//	-listen           SIM_LISTEN_ADDR      address to serve on (default :9090)
//	-public-url       SIM_PUBLIC_URL       the simulator's URL as browsers see it
//	                                       (default: derived from each request's Host)
//	-appid            WECHAT_APPID         appid to accept (default wechatsim.DefaultAppID)
//	-secret           WECHAT_SECRET        secret to accept, or WECHAT_SECRET_FILE
//	-double-callback  SIM_DOUBLE_CALLBACK  consent page default: off, A or B
//	-debug            SIM_DEBUG=1          log every API call
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"wxlogin/wechatsim"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "wechat-sim:", err)
		os.Exit(1)
	}
}

func run() error {
	secret, err := envSecret("WECHAT_SECRET")
	if err != nil {
		return err
	}
	listen := flag.String("listen", envOr("SIM_LISTEN_ADDR", ":9090"), "address to serve on")
	publicURL := flag.String("public-url", os.Getenv("SIM_PUBLIC_URL"), "the simulator's URL as browsers see it")
	appid := flag.String("appid", os.Getenv("WECHAT_APPID"), "appid to accept")
	flag.StringVar(&secret, "secret", secret, "app secret to accept")
	miniSecret, err := envSecret("WECHAT_MINI_SECRET")
	if err != nil {
		return err
	}
	miniAppID := flag.String("mini-appid", os.Getenv("WECHAT_MINI_APPID"), "the mini program's appid to accept at jscode2session (default "+wechatsim.DefaultMiniAppID+")")
	flag.StringVar(&miniSecret, "mini-secret", miniSecret, "the mini program's secret to accept")
	double := flag.String("double-callback", envOr("SIM_DOUBLE_CALLBACK", "off"), "consent page default: off, A or B")
	debug := flag.Bool("debug", os.Getenv("SIM_DEBUG") == "1", "log every API call")
	flag.Parse()

	switch strings.ToUpper(*double) {
	case "OFF", "A", "B":
	default:
		return fmt.Errorf("SIM_DOUBLE_CALLBACK/-double-callback must be off, A or B, not %q", *double)
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	sim := wechatsim.New(wechatsim.Options{
		AppID:          *appid,
		Secret:         secret,
		MiniAppID:      *miniAppID,
		MiniSecret:     miniSecret,
		PublicURL:      *publicURL,
		DoubleCallback: *double,
		Logger:         log,
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("/", sim.Handler())
	srv := &http.Server{
		Addr:              *listen,
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("wechat-sim listening", "addr", *listen, "appid", sim.AppID(), "mini_appid", sim.MiniAppID(), "public_url", *publicURL)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("wechat-sim shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Hanging fault injections may outlive the grace period.
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// envSecret reads NAME, or the file named by NAME_FILE (Docker secrets).
func envSecret(name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return v, nil
	}
	path := os.Getenv(name + "_FILE")
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s_FILE: %w", name, err)
	}
	return strings.TrimSpace(string(b)), nil
}
