package app

import (
	"bufio"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"wxlogin/config"
	"wxlogin/exchange"
)

// nginxConf is the reverse-proxy configuration shipped in deploy/.
const nginxConf = "../deploy/nginx/wxlogin.conf"

// proxyReadMargin is what nginx must allow beyond the gate's worst case: the
// database writes after the exchange, the session and the page.
const proxyReadMargin = 5 * time.Second

// gateWorstCase is the longest a callback request can take inside the gate
// with the default configuration: the gate says so itself (a duplicate that
// waits its longest, MaxWait, and then owns the code for at most a lease).
func gateWorstCase(lease time.Duration) time.Duration {
	return exchange.New(nil, nil, nil, exchange.Config{Lease: lease}).WorstCase()
}

// TestNginxReadTimeoutCoversTheGate: nginx must not cut off (and re-send to
// another instance) a callback that wxlogin is still finishing; every
// proxy_read_timeout in the shipped config must be at least the gate's worst
// case plus a margin.
func TestNginxReadTimeoutCoversTheGate(t *testing.T) {
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatalf("loading the default configuration: %v", err)
	}
	need := gateWorstCase(cfg.ExchangeLease) + proxyReadMargin
	f, err := os.Open(nginxConf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	directive := regexp.MustCompile(`^\s*proxy_read_timeout\s+([^;\s]+)\s*;`)
	found := 0
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		m := directive.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		found++
		got, err := nginxDuration(m[1])
		if err != nil {
			t.Fatalf("%s:%d: %v", nginxConf, line, err)
		}
		if got < need {
			t.Errorf("%s:%d: proxy_read_timeout %s is below the gate's worst case %s + %s margin = %s (EXCHANGE_LEASE %s)",
				nginxConf, line, got, gateWorstCase(cfg.ExchangeLease), proxyReadMargin, need, cfg.ExchangeLease)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatalf("%s sets no proxy_read_timeout; nginx's default (60s) is not what the comment there explains", nginxConf)
	}
}

// nginxDuration parses an nginx time value as proxy_read_timeout takes it:
// one number with an optional unit (ms, s, m, h); no unit means seconds.
func nginxDuration(v string) (time.Duration, error) {
	m := regexp.MustCompile(`^([0-9]+)(ms|s|m|h)?$`).FindStringSubmatch(v)
	if m == nil {
		return 0, &strconv.NumError{Func: "nginxDuration", Num: v, Err: strconv.ErrSyntax}
	}
	n, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, err
	}
	unit := map[string]time.Duration{"": time.Second, "ms": time.Millisecond, "s": time.Second, "m": time.Minute, "h": time.Hour}[m[2]]
	return time.Duration(n) * unit, nil
}

func TestNginxDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"40s", 40 * time.Second, true},
		{"40", 40 * time.Second, true},
		{"1m", time.Minute, true},
		{"500ms", 500 * time.Millisecond, true},
		{"1m30s", 0, false}, // valid nginx, but not used here: fail loudly rather than misread
		{"s", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := nginxDuration(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("nginxDuration(%q) = %v, %v; want %v, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
