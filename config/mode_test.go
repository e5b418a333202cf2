package config

import (
	"strings"
	"testing"
)

// TestSimulatorModeNeedsLocalOrExplicit: without WECHAT_APPID wxlogin runs
// the built-in simulator, whose X-Sim-User header logs anyone in as anyone.
// It must not do so silently on a public BASE_URL, nor listen on every
// interface unless LISTEN_ADDR says so.
func TestSimulatorModeNeedsLocalOrExplicit(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		wantErr    []string // substrings of the error, naming the variables; nil = ok
		wantSim    bool
		wantListen string
	}{
		{name: "make run: nothing set", env: nil, wantSim: true, wantListen: "127.0.0.1:8080"},
		{name: "explicit LISTEN_ADDR honoured", env: map[string]string{"LISTEN_ADDR": ":8080"}, wantSim: true, wantListen: ":8080"},
		{name: "127.0.0.0/8 BASE_URL", env: map[string]string{"BASE_URL": "http://127.0.0.2:9000"}, wantSim: true, wantListen: "127.0.0.1:8080"},
		{name: "::1 BASE_URL", env: map[string]string{"BASE_URL": "http://[::1]:8080"}, wantSim: true, wantListen: "127.0.0.1:8080"},
		{name: "LOCALHOST BASE_URL", env: map[string]string{"BASE_URL": "http://LOCALHOST:8080"}, wantSim: true, wantListen: "127.0.0.1:8080"},
		{name: "https public BASE_URL", env: map[string]string{"BASE_URL": "https://login.example.com"},
			wantErr: []string{"BASE_URL", "WECHAT_APPID", "SIMULATOR=1"}},
		{name: "LAN BASE_URL", env: map[string]string{"BASE_URL": "http://192.168.1.5:8080"}, wantErr: []string{"BASE_URL", "SIMULATOR=1"}},
		{name: "0.0.0.0 BASE_URL", env: map[string]string{"BASE_URL": "http://0.0.0.0:8080"}, wantErr: []string{"BASE_URL"}},
		{name: "localhost lookalike", env: map[string]string{"BASE_URL": "http://localhost.example.com"}, wantErr: []string{"BASE_URL"}},
		{name: "public BASE_URL with SIMULATOR=1", env: map[string]string{"BASE_URL": "https://login.example.com", "SIMULATOR": "1"},
			wantSim: true, wantListen: "127.0.0.1:8080"},
		{name: "SIMULATOR=1 with WECHAT_APPID", env: map[string]string{"SIMULATOR": "1", "WECHAT_APPID": "wx1", "WECHAT_SECRET": "s",
			"SESSION_KEYS": key, "TOKEN_KEY": tokenKey}, wantErr: []string{"SIMULATOR", "WECHAT_APPID"}},
		{name: "SIMULATOR=0 without WECHAT_APPID", env: map[string]string{"SIMULATOR": "0"}, wantErr: []string{"WECHAT_APPID", "SIMULATOR=0"}},
		{name: "SIMULATOR=0 with WECHAT_APPID", env: map[string]string{"SIMULATOR": "0", "WECHAT_APPID": "wx1", "WECHAT_SECRET": "s",
			"SESSION_KEYS": key, "TOKEN_KEY": tokenKey}, wantSim: false, wantListen: ":8080"},
		{name: "SIMULATOR=yes", env: map[string]string{"SIMULATOR": "yes"}, wantErr: []string{"SIMULATOR"}},
		{name: "production listens on every interface", env: map[string]string{"WECHAT_APPID": "wx1", "WECHAT_SECRET": "s",
			"BASE_URL": "https://login.example.com", "SESSION_KEYS": key, "TOKEN_KEY": tokenKey}, wantSim: false, wantListen: ":8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"DATA_DIR": t.TempDir()}
			for k, v := range tt.env {
				env[k] = v
			}
			c, err := Load(func(k string) string { return env[k] })
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("started (simulator %v, listening on %s), want an error naming %v", c.Simulator, c.ListenAddr, tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Fatalf("error %q does not name %s", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if c.Simulator != tt.wantSim || c.ListenAddr != tt.wantListen {
				t.Fatalf("simulator %v on %s, want %v on %s", c.Simulator, c.ListenAddr, tt.wantSim, tt.wantListen)
			}
		})
	}
}

// TestListenerAddresses: METRICS_ADDR and PPROF_ADDR are checked at start-up
// (pprof only ever on loopback), with messages naming the variable.
func TestListenerAddresses(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // "" = ok
	}{
		{"metrics on its own listener", map[string]string{"METRICS_ADDR": "127.0.0.1:9090"}, ""},
		{"metrics on every interface", map[string]string{"METRICS_ADDR": ":9090"}, ""},
		{"metrics and pprof share a listener", map[string]string{"METRICS_ADDR": "127.0.0.1:9090", "PPROF_ADDR": "127.0.0.1:9090"}, ""},
		{"metrics without port", map[string]string{"METRICS_ADDR": "9090"}, "METRICS_ADDR"},
		{"metrics on the main listener's address", map[string]string{"METRICS_ADDR": "127.0.0.1:8080"}, "METRICS_ADDR"},
		{"pprof on every interface", map[string]string{"PPROF_ADDR": ":6060"}, "PPROF_ADDR"},
		{"pprof on a public address", map[string]string{"PPROF_ADDR": "0.0.0.0:6060"}, "PPROF_ADDR"},
		{"pprof on loopback", map[string]string{"PPROF_ADDR": "localhost:6060"}, ""},
		{"LISTEN_ADDR without port", map[string]string{"LISTEN_ADDR": "8080"}, "LISTEN_ADDR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"DATA_DIR": t.TempDir()}
			for k, v := range tt.env {
				env[k] = v
			}
			c, err := Load(func(k string) string { return env[k] })
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
			case err == nil && c.MetricsAddr != tt.env["METRICS_ADDR"]:
				t.Fatalf("MetricsAddr %q", c.MetricsAddr)
			}
		})
	}
}
