package handlers

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

const defaultNext = "/profile"

// SafeNext returns raw if it is a plain local path on this site, otherwise
// /profile. Anything a browser could read as another origin is refused:
// "//host", "/\host", their percent-encoded (also multiply encoded) forms,
// schemes, userinfo, whitespace and control characters, and Unicode
// look-alikes of the slash and backslash that a lenient parser might fold.
// The raw value must be printable ASCII: a browser sends non-ASCII
// percent-encoded, so anything else did not come from a link of ours. Paths
// into the login flow itself are refused too, so that next can never build a
// redirect loop.
func SafeNext(raw string) string {
	if raw == "" || len(raw) > 512 || raw[0] != '/' || strings.HasPrefix(raw, "//") {
		return defaultNext
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= ' ' || raw[i] >= 0x7f || raw[i] == '\\' {
			return defaultNext
		}
	}
	// Decode repeatedly: browsers and proxies may decode more than once. A
	// value still encoded after maxDecode rounds is refused, not trusted.
	dec := raw
	for i := 0; ; i++ {
		d, err := url.PathUnescape(dec)
		if err != nil {
			return defaultNext
		}
		if d == dec {
			break
		}
		if i == maxDecode {
			return defaultNext
		}
		dec = d
	}
	if !strings.HasPrefix(dec, "/") || strings.HasPrefix(dec, "//") || !utf8.ValidString(dec) {
		return defaultNext
	}
	for _, r := range dec {
		if r < 0x20 || r == 0x7f || r == '\\' || r == utf8.RuneError || slashLookalike(r) {
			return defaultNext
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return defaultNext
	}
	if p := strings.ToLower(dec); strings.HasPrefix(p, "/wechat/") || strings.HasPrefix(p, "/logout") || strings.HasPrefix(p, "/_sim") {
		return defaultNext
	}
	return raw
}

// maxDecode is how many layers of percent-encoding SafeNext looks through.
const maxDecode = 4

// slashLookalike reports runes that Unicode compatibility folding (IDNA,
// NFKC) or a careless parser may turn into '/' or '\\'.
func slashLookalike(r rune) bool {
	switch r {
	case '\u2044', '\u2215', '\u2216', '\u29F5', '\u29F8', '\u29F9', '\uFE68', '\uFF0F', '\uFF3C':
		return true
	}
	return false
}
