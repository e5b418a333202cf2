package handlers

import "testing"

// TestEntryScope: WECHAT_SCOPE=auto logs in silently and asks for the
// profile only for a logged-in person who came back to share or refresh it;
// a link's own scope always wins; a fixed scope stays fixed.
func TestEntryScope(t *testing.T) {
	tests := []struct {
		configured, asked string
		loggedIn          bool
		want              string
	}{
		{ScopeAuto, "", false, "snsapi_base"},
		{ScopeAuto, "", true, "snsapi_userinfo"},
		{ScopeAuto, "snsapi_userinfo", false, "snsapi_userinfo"},
		{ScopeAuto, "snsapi_base", true, "snsapi_base"},
		{ScopeAuto, "snsapi_login", false, "snsapi_base"},
		{"snsapi_userinfo", "", false, "snsapi_userinfo"},
		{"snsapi_base", "", true, "snsapi_base"},
		{"snsapi_base", "snsapi_userinfo", true, "snsapi_userinfo"},
	}
	for _, tt := range tests {
		if got := entryScope(tt.configured, tt.asked, tt.loggedIn); got != tt.want {
			t.Errorf("entryScope(%q, %q, %v) = %q, want %q", tt.configured, tt.asked, tt.loggedIn, got, tt.want)
		}
	}
}

func TestIsPhone(t *testing.T) {
	for ua, want := range map[string]bool{
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1": true,
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36":          true,
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36":                false,
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 Version/17.0 Safari/605.1.15":         false,
		"": false,
	} {
		if got := isPhone(ua); got != want {
			t.Errorf("isPhone(%q) = %v", ua, got)
		}
	}
}
