package handlers

import (
	"net/url"
	"strings"
)

const defaultNext = "/profile"

// SafeNext returns raw if it is a plain local path on this site, otherwise
// /profile. Anything a browser could read as another origin is refused:
// "//host", "/\host", their percent-encoded forms, schemes, userinfo and
// control characters. Paths into the login flow itself are refused too, so
// that next can never build a redirect loop.
func SafeNext(raw string) string {
	if raw == "" || len(raw) > 512 || raw[0] != '/' {
		return defaultNext
	}
	for _, r := range raw {
		if r < 0x20 || r == 0x7f || r == '\\' || r == 0xfffd {
			return defaultNext
		}
	}
	if strings.HasPrefix(raw, "//") {
		return defaultNext
	}
	// Decode repeatedly: browsers and proxies may decode more than once.
	dec := raw
	for range 3 {
		d, err := url.PathUnescape(dec)
		if err != nil {
			return defaultNext
		}
		if d == dec {
			break
		}
		dec = d
	}
	if !strings.HasPrefix(dec, "/") || strings.HasPrefix(dec, "//") || strings.ContainsAny(dec, "\\\x00\r\n\t") {
		return defaultNext
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
