package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"wxlogin/config"
)

// healthcheck probes this instance's /readyz (or /healthz with --live) on
// LISTEN_ADDR and exits 0 when it answers 200. The container image has no
// shell or curl, so Docker's HEALTHCHECK runs the binary itself.
func healthcheck(ctx context.Context, cfg *config.Config, args []string, stdout, stderr io.Writer) int {
	path := "/readyz"
	for _, a := range args {
		switch a {
		case "--live":
			path = "/healthz"
		default:
			fmt.Fprintf(stderr, "wxlogin healthcheck: unknown flag %q (want --live or nothing)\n", a)
			return 2
		}
	}
	host, port, err := net.SplitHostPort(cfg.ListenAddr)
	if err != nil {
		fmt.Fprintf(stderr, "wxlogin healthcheck: LISTEN_ADDR %q: %v\n", cfg.ListenAddr, err)
		return 2
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort(host, port) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "wxlogin healthcheck: %v\n", err)
		return 1
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "wxlogin healthcheck: %s: %v\n", path, err)
		return 1
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 256))
	fmt.Fprintf(stdout, "%s %d %s\n", path, res.StatusCode, strings.TrimSpace(string(body)))
	if res.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}
