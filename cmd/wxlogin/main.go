// Command wxlogin serves WeChat Official Account web login.
//
//	wxlogin [serve]                                      run the server (default)
//	wxlogin migrate                                      apply database migrations and exit
//	wxlogin admin create --username NAME --password-stdin
//	wxlogin admin list
//	wxlogin admin disable --username NAME
//	wxlogin admin enable --username NAME
//	wxlogin admin unlock --username NAME [--ip ADDR]
//	wxlogin rotate-token-key                             re-seal stored tokens with the first TOKEN_KEY
//	wxlogin healthcheck [--live]                         probe this instance's /readyz (/healthz); for Docker
//
// Configuration comes from the environment (see README.md).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"wxlogin/app"
	"wxlogin/config"
	"wxlogin/models"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run returns the exit status: 0 ok, 1 failure, 2 usage.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve", "migrate", "admin", "rotate-token-key", "healthcheck":
	case "-h", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "wxlogin: unknown command %q\n%s\n", cmd, usage)
		return 2
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintf(stderr, "wxlogin: configuration: %v\n", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch cmd {
	case "migrate":
		return migrate(ctx, cfg, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, cfg, args, stdout, stderr)
	case "admin":
		return admin(ctx, cfg, args, stdin, stdout, stderr)
	case "rotate-token-key":
		return rotateTokenKey(ctx, cfg, stdout, stderr)
	}
	return serve(ctx, cfg, stderr)
}

const usage = `usage:
  wxlogin [serve]
  wxlogin migrate
  wxlogin admin create --username NAME --password-stdin
  wxlogin admin list
  wxlogin admin disable --username NAME
  wxlogin admin enable --username NAME
  wxlogin admin unlock --username NAME [--ip ADDR]
  wxlogin rotate-token-key
  wxlogin healthcheck [--live]`

func serve(ctx context.Context, cfg *config.Config, stderr io.Writer) int {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	log, closeLog := app.NewBufferedLogger(cfg, stderr)
	defer func() { _ = closeLog() }()
	if os.Getenv("GOGC") == "" {
		// The live heap is small (tens of MiB) and a login storm allocates
		// fast: collecting a quarter as often measured 10-15% less CPU per
		// login (docs/BENCHMARKS.md). GOGC in the environment still wins.
		debug.SetGCPercent(400)
	}
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		log.Error("start-up failed", "err", err)
		return 1
	}
	if cfg.Simulator {
		log.Warn("simulator mode: the built-in WeChat simulator logs anyone in as anyone (X-Sim-User); set WECHAT_APPID and WECHAT_SECRET for WeChat",
			"listen_addr", cfg.ListenAddr, "base_url", cfg.BaseURL.String())
	}
	side, err := startSide(cfg, a.Metrics.Handler(), log)
	if err != nil {
		log.Error("start-up failed", "err", err)
		_ = a.Close()
		return 1
	}
	// The side listeners drain alongside the public one, within the same
	// deadline, from the moment the stop signal arrives.
	sideDone := make(chan struct{})
	go func() {
		defer close(sideDone)
		<-ctx.Done()
		sctx, scancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer scancel()
		side.Shutdown(sctx)
	}()
	bg, cancel := context.WithCancel(context.Background())
	a.Start(bg)
	err = a.Serve(ctx, cfg.ShutdownTimeout)
	stop() // the public listener failed: stop the side listeners too
	<-sideDone
	cancel()
	if cerr := a.Close(); cerr != nil {
		log.Warn("closing the database", "err", cerr)
	}
	if err != nil {
		log.Error("server stopped", "err", err)
		return 1
	}
	log.Info("stopped cleanly")
	return 0
}

func migrate(ctx context.Context, cfg *config.Config, stdout, stderr io.Writer) int {
	db, err := models.Open(ctx, cfg.DatabaseURL, cfg.DataDir, models.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "wxlogin migrate: %v\n", err)
		return 1
	}
	defer func() { _ = db.Close() }()
	if err := db.Migrate(ctx); err != nil {
		fmt.Fprintf(stderr, "wxlogin migrate: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "migrations applied (%s)\n", db.Dialect)
	return 0
}
