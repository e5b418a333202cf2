package models

import (
	"strings"
	"testing"
)

func TestWithConnectTimeout(t *testing.T) {
	tests := []struct{ in, want string }{
		{"postgres://u:p@db:5432/wx", "connect_timeout=5"},
		{"postgres://u:p@db:5432/wx?sslmode=disable", "sslmode=disable"},
		{"postgres://u:p@db:5432/wx?connect_timeout=2", "connect_timeout=2"},
	}
	for _, tt := range tests {
		got := withConnectTimeout(tt.in)
		if !strings.Contains(got, tt.want) || strings.Count(got, "connect_timeout") != 1 {
			t.Errorf("withConnectTimeout(%q) = %q, want it to contain %q and one connect_timeout", tt.in, got, tt.want)
		}
	}
}
