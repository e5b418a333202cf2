package handlers

import "testing"

// TestSafeNext lists the ways a `next` parameter has been used for open
// redirects; every one must fall back to /profile, and plain local paths
// must pass through unchanged.
func TestSafeNext(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "/profile"},
		{"plain path", "/profile", "/profile"},
		{"path with query", "/profile?tab=1&x=%2F", "/profile?tab=1&x=%2F"},
		{"admin path", "/admin/users", "/admin/users"},
		{"encoded unicode path", "/%E8%B5%84%E6%96%99", "/%E8%B5%84%E6%96%99"},
		{"percent-encoded slash inside the path", "/a%2Fb", "/a%2Fb"},

		{"protocol-relative", "//evil.example", "/profile"},
		{"protocol-relative with path", "//evil.example/profile", "/profile"},
		{"triple slash", "///evil.example", "/profile"},
		{"backslash", "/\\evil.example", "/profile"},
		{"two backslashes", "\\\\evil.example", "/profile"},
		{"slash backslash slash", "/\\/evil.example", "/profile"},
		{"encoded slashes", "/%2F%2Fevil.example", "/profile"},
		{"encoded slash second", "/%2Fevil.example", "/profile"},
		{"lowercase encoded slash", "/%2f%2fevil.example", "/profile"},
		{"encoded backslash", "/%5Cevil.example", "/profile"},
		{"encoded backslash lowercase", "/%5cevil.example", "/profile"},
		{"double-encoded slashes", "/%252F%252Fevil.example", "/profile"},
		{"double-encoded backslash", "/%255Cevil.example", "/profile"},
		{"triple-encoded slashes", "/%25252F%25252Fevil.example", "/profile"},
		{"encoded more often than we decode", "/%2525252F%2525252Fevil.example", "/profile"},
		{"https URL", "https://evil.example/", "/profile"},
		{"http URL", "http://evil.example", "/profile"},
		{"scheme only", "https:", "/profile"},
		{"scheme with path", "https:/evil.example", "/profile"},
		{"javascript", "javascript:alert(1)", "/profile"},
		{"javascript upper", "JAVASCRIPT:alert(1)", "/profile"},
		{"data URL", "data:text/html,<script>alert(1)</script>", "/profile"},
		{"relative path", "profile", "/profile"},
		{"dot relative", "./profile", "/profile"},
		{"userinfo trick", "/@evil.example", "/@evil.example"},
		{"tab inside", "/\t/evil.example", "/profile"},
		{"newline inside", "/\n/evil.example", "/profile"},
		{"carriage return", "/\r/evil.example", "/profile"},
		{"header injection", "/profile\r\nSet-Cookie: x=1", "/profile"},
		{"encoded tab", "/%09/evil.example", "/profile"},
		{"encoded newline", "/%0a/evil.example", "/profile"},
		{"encoded CRLF", "/profile%0d%0aSet-Cookie:%20x=1", "/profile"},
		{"NUL", "/\x00/evil.example", "/profile"},
		{"encoded NUL", "/%00", "/profile"},
		{"DEL", "/\x7f", "/profile"},
		{"leading space", " //evil.example", "/profile"},
		{"space inside", "/ /evil.example", "/profile"},
		{"bad percent-encoding", "/%zz", "/profile"},
		{"truncated percent-encoding", "/%", "/profile"},
		{"invalid UTF-8", "/\xff\xfe", "/profile"},
		{"replacement character", "/\uFFFD", "/profile"},
		{"fullwidth solidus", "/\uFF0Fevil.example", "/profile"},
		{"encoded fullwidth solidus", "/%EF%BC%8Fevil.example", "/profile"},
		{"fullwidth reverse solidus", "/\uFF3Cevil.example", "/profile"},
		{"division slash", "/\u2215evil.example", "/profile"},
		{"encoded division slash", "/%E2%88%95evil.example", "/profile"},
		{"fraction slash", "/\u2044evil.example", "/profile"},
		{"big solidus", "/\u29F8evil.example", "/profile"},
		{"small reverse solidus", "/\uFE68evil.example", "/profile"},
		{"raw unicode path", "/资料", "/profile"},
		{"login entry loop", "/wechat/entry?next=/profile", "/profile"},
		{"callback", "/wechat/callback?code=x&state=y", "/profile"},
		{"encoded login path", "/%77echat/entry", "/profile"},
		{"logout", "/logout", "/profile"},
		{"simulator", "/_sim/connect/oauth2/authorize", "/profile"},
		{"too long", "/" + string(make([]byte, 600)), "/profile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SafeNext(tt.in); got != tt.want {
				t.Fatalf("SafeNext(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
