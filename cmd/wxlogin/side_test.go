package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"wxlogin/app"
	"wxlogin/config"
	"wxlogin/testdb"
)

// TestMetricsAddrMovesMetrics: without METRICS_ADDR /metrics is on the
// public listener, as before. With it, the public listener answers 404 for
// /metrics and the metrics listener serves it — and pprof when PPROF_ADDR
// names the same address, never otherwise.
func TestMetricsAddrMovesMetrics(t *testing.T) {
	tests := []struct {
		name        string
		metrics     bool
		pprof       bool
		wantPublic  int
		wantProfile int // on the metrics listener
	}{
		{name: "METRICS_ADDR unset", wantPublic: http.StatusOK},
		{name: "METRICS_ADDR set", metrics: true, wantPublic: http.StatusNotFound, wantProfile: http.StatusNotFound},
		{name: "METRICS_ADDR and PPROF_ADDR share", metrics: true, pprof: true, wantPublic: http.StatusNotFound, wantProfile: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"DATA_DIR": t.TempDir(), "SIM_DOUBLE_CALLBACK": "off"}
			if tt.metrics {
				env["METRICS_ADDR"] = freeAddr(t)
			}
			if tt.pprof {
				env["PPROF_ADDR"] = env["METRICS_ADDR"]
			}
			cfg, err := config.Load(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			log := slog.New(slog.DiscardHandler)
			a, err := app.New(t.Context(), cfg, app.Options{Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = a.Close() })
			public := httptest.NewServer(a.Handler)
			t.Cleanup(public.Close)
			if got := statusOf(t, public.URL+"/metrics"); got != tt.wantPublic {
				t.Fatalf("public /metrics: %d, want %d", got, tt.wantPublic)
			}
			if got := statusOf(t, public.URL+"/debug/pprof/"); got != http.StatusNotFound {
				t.Fatalf("public /debug/pprof/: %d, want 404", got)
			}

			side, err := startSide(cfg, a.Metrics.Handler(), log)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.metrics {
				if len(side.servers) != 0 {
					t.Fatalf("%d side listeners without METRICS_ADDR or PPROF_ADDR", len(side.servers))
				}
				return
			}
			base := "http://" + cfg.MetricsAddr
			res, body := sideGet(t, base+"/metrics")
			if res.StatusCode != http.StatusOK || !strings.Contains(body, "wxlogin_http_requests_total") {
				t.Fatalf("metrics listener /metrics: %d\n%.300s", res.StatusCode, body)
			}
			if got := statusOf(t, base+"/debug/pprof/"); got != tt.wantProfile {
				t.Fatalf("metrics listener /debug/pprof/: %d, want %d", got, tt.wantProfile)
			}
			if got := statusOf(t, base+"/"); got != http.StatusNotFound {
				t.Fatalf("metrics listener /: %d, want 404 (it serves nothing of the app)", got)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			side.Shutdown(ctx)
			if _, err := http.Get(base + "/metrics"); err == nil {
				t.Fatal("metrics listener still answers after Shutdown")
			}
		})
	}
}

// TestSideListenerPortTaken: a METRICS_ADDR that cannot be bound stops the
// start with a message naming the variable.
func TestSideListenerPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := &config.Config{MetricsAddr: ln.Addr().String()}
	if _, err := startSide(cfg, http.NotFoundHandler(), slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), "METRICS_ADDR") {
		t.Fatalf("bind on a taken port: %v, want an error naming METRICS_ADDR", err)
	}
}

// TestServeMetricsAddrProcess runs the binary with METRICS_ADDR (and pprof
// on the same listener): the public port answers 404 for /metrics, the
// metrics port serves /metrics and pprof, and SIGTERM stops both listeners
// with a clean exit.
func TestServeMetricsAddrProcess(t *testing.T) {
	s, sim := newSim(t)
	maddr := freeAddr(t)
	p := startProc(t, sim, s, testdb.New(t), "", "a", "METRICS_ADDR="+maddr, "PPROF_ADDR="+maddr)
	if got := statusOf(t, p.url+"/metrics"); got != http.StatusNotFound {
		t.Fatalf("public /metrics: %d, want 404", got)
	}
	if res, body := sideGet(t, "http://"+maddr+"/metrics"); res.StatusCode != http.StatusOK || !strings.Contains(body, "wxlogin_") {
		t.Fatalf("METRICS_ADDR /metrics: %d", res.StatusCode)
	}
	if got := statusOf(t, "http://"+maddr+"/debug/pprof/cmdline"); got != http.StatusOK {
		t.Fatalf("METRICS_ADDR /debug/pprof/cmdline: %d, want 200", got)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitCleanStop(t, p)
	for _, u := range []string{p.url + "/healthz", "http://" + maddr + "/metrics"} {
		if _, err := http.Get(u); err == nil {
			t.Fatalf("%s still answers after the process exited", u)
		}
	}
}

// TestSimulatorOnPublicBaseURLRefused: with no WECHAT_APPID and a public
// BASE_URL every command stops before doing anything, naming the variables,
// unless SIMULATOR=1 says the simulator is meant.
func TestSimulatorOnPublicBaseURLRefused(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("DATA_DIR", t.TempDir())
	t.Setenv("WECHAT_APPID", "")
	t.Setenv("WECHAT_SECRET", "")
	t.Setenv("BASE_URL", "https://login.example.com")
	t.Setenv("SIMULATOR", "")
	code, _, errOut := runCmd("", "migrate")
	if code != 1 || !strings.Contains(errOut, "BASE_URL") || !strings.Contains(errOut, "SIMULATOR=1") {
		t.Fatalf("exit %d, stderr %q; want 1 and a message naming BASE_URL and SIMULATOR=1", code, errOut)
	}
	t.Setenv("SIMULATOR", "1")
	if code, out, errOut := runCmd("", "migrate"); code != 0 {
		t.Fatalf("with SIMULATOR=1: exit %d\n%s%s", code, out, errOut)
	}
}

func sideGet(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res, string(b)
}

func statusOf(t *testing.T, u string) int {
	t.Helper()
	res, _ := sideGet(t, u)
	return res.StatusCode
}
