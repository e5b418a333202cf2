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
