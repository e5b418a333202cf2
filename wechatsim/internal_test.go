package wechatsim

import "testing"

func TestCallbackURL(t *testing.T) {
	tests := []struct{ redirect, code, state, want string }{
		{"https://a.example/cb", "C", "S", "https://a.example/cb?code=C&state=S"},
		{"https://a.example/cb?next=%2Fp", "C", "S", "https://a.example/cb?next=%2Fp&code=C&state=S"},
		{"https://a.example/cb", "", "S", "https://a.example/cb?state=S"},
		{"https://a.example/cb", "", "", "https://a.example/cb?state="},
		{"https://a.example/cb#top", "C", "S", "https://a.example/cb?code=C&state=S#top"},
	}
	for _, tt := range tests {
		if got := callbackURL(tt.redirect, tt.code, tt.state); got != tt.want {
			t.Errorf("callbackURL(%q) = %q, want %q", tt.redirect, got, tt.want)
		}
	}
}

func TestNormalizeDouble(t *testing.T) {
	for in, want := range map[string]string{"": "off", "off": "off", "OFF": "off", "a": "A", "B": "B", " b ": "B", "C": ""} {
		if got := normalizeDouble(in); got != want {
			t.Errorf("normalizeDouble(%q) = %q, want %q", in, got, want)
		}
	}
}
