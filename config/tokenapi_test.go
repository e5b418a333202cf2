package config

import (
	"strings"
	"testing"
)

func TestTokenAPIKeys(t *testing.T) {
	good := strings.Repeat("a", 32)
	cases := []struct {
		name, value string
		want        int
		wantErr     bool
	}{
		{"unset", "", 0, false},
		{"one", good, 1, false},
		{"two with spaces", " " + good + " , " + strings.Repeat("b", 64), 2, false},
		{"31 characters", strings.Repeat("a", 31), 0, true},
		{"inner space", strings.Repeat("a", 20) + " " + strings.Repeat("a", 20), 0, true},
		{"non-ASCII", strings.Repeat("密", 20), 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{"DATA_DIR": t.TempDir(), "TOKEN_API_KEYS": c.value}
			cfg, err := Load(func(k string) string { return env[k] })
			if c.wantErr {
				if err == nil || !strings.Contains(err.Error(), "TOKEN_API_KEYS") {
					t.Fatalf("accepted: %v", err)
				}
				if strings.Contains(err.Error(), c.value) {
					t.Fatal("the error quotes the key")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.TokenAPIKeys) != c.want {
				t.Fatalf("%d keys, want %d", len(cfg.TokenAPIKeys), c.want)
			}
		})
	}
}
