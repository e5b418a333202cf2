// Command bareapp is the yardstick of issue 12: a minimal but correct WeChat
// web login written on bare net/http and pgx, with no framework, no ORM and
// no session library. `make bench` runs it beside wxlogin with the same load
// tool so that "as fast as hand-written code" is a ratio measured in one run.
// It is not a product and wxlogin does not import it.
//
// It keeps the guarantees that make the comparison fair:
//   - the state is bound to a server-side session row made at the entry;
//   - one claim row per code (INSERT ... ON CONFLICT DO NOTHING): the request
//     that makes it owns the exchange, so WeChat sees each code once;
//   - the owner exchanges the code (sns/oauth2/access_token, then
//     sns/userinfo) on a context detached from the request, because Android's
//     in-app browser aborts the first callback on purpose;
//   - a duplicate callback from the same browser session is answered from the
//     claim row, polled until the owner finishes; one from another session
//     gets nothing;
//   - the login gets a new session id (no fixation), in an HttpOnly cookie,
//     and /profile reads the person with one statement.
//
// By default it does not keep issue 17's bound on WeChat calls per state:
// both codes of Android's variant B (two codes, one state) are exchanged at
// once, and one session can spend any number of made-up codes, one WeChat
// call each. BARE_STATE_BOUND=1 keeps the bound the way wxlogin does
// (bound.go): per pre-login session at most one code in flight (a partial
// unique index on the claim table), a second code waits for the first's
// outcome and is then exchanged, and after a code WeChat rejected the state
// takes no further code. `make bench` runs both; the unbounded one is the
// headline yardstick.
//
// Environment: LISTEN_ADDR, BASE_URL, DATABASE_URL, WECHAT_APPID,
// WECHAT_SECRET, WECHAT_OAUTH_URL, WECHAT_API_URL, WECHAT_SCOPE
// (snsapi_userinfo by default), DB_MAX_CONNS (20, wxlogin's default),
// BARE_STATE_BOUND (1: issue 17's per-state bound; empty or 0: none).
package main

import (
	"context"
	"errors"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

func main() {
	cfg := config{
		BaseURL:  os.Getenv("BASE_URL"),
		AppID:    os.Getenv("WECHAT_APPID"),
		Secret:   os.Getenv("WECHAT_SECRET"),
		OAuthURL: os.Getenv("WECHAT_OAUTH_URL"),
		APIURL:   os.Getenv("WECHAT_API_URL"),
		Scope:    envOr("WECHAT_SCOPE", "snsapi_userinfo"),
	}
	switch os.Getenv("BARE_STATE_BOUND") {
	case "", "0":
	case "1":
		cfg.StateBound = true
	default:
		log.Fatal("bareapp: BARE_STATE_BOUND must be 1, 0 or empty")
	}
	addr := envOr("LISTEN_ADDR", "127.0.0.1:8081")
	maxConns, err := strconv.Atoi(envOr("DB_MAX_CONNS", "20"))
	if err != nil || maxConns < 1 {
		log.Fatal("bareapp: DB_MAX_CONNS must be a positive number")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	pcfg, err := pgxpool.ParseConfig(os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatalf("bareapp: DATABASE_URL: %v", err)
	}
	pcfg.MaxConns = int32(maxConns)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		log.Fatalf("bareapp: database: %v", err)
	}
	defer pool.Close()
	h, err := newServer(ctx, pool, cfg)
	if err != nil {
		log.Fatalf("bareapp: %v", err)
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Printf("bareapp: listening on %s (per-state bound: %v)", addr, cfg.StateBound)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatalf("bareapp: %v", err)
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
