package app

import (
	"encoding/hex"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"

	"wxlogin/config"
)

func newUnstarted() *httptest.Server { return httptest.NewUnstartedServer(nil) }

func loadConfig(t *testing.T, vars map[string]string) *config.Config {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func hexKey(s string) ([]byte, error) { return hex.DecodeString(s) }

func fmtInt(n int) string { return strconv.Itoa(n) }

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
