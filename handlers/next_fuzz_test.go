package handlers

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeNext checks the open-redirect guard against arbitrary input: the
// answer is either the input unchanged or /profile, and anything let through
// stays on this origin however often it is decoded or resolved.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{
		"/profile", "/profile?tab=1", "//evil.example", "/\\evil.example", "/%2F%2Fevil.example",
		"/%5Cevil.example", "/%252F%252Fevil.example", "https:", "https://evil.example", "javascript:alert(1)",
		"/\t/evil.example", "/%0a/evil.example", "/\uFF0Fevil.example", "/%E2%88%95evil.example",
		"/a/../..//evil.example", "/.//evil.example", "/%2e%2e/%2fevil.example", "/@evil.example",
		"/wechat/entry", "", "\x00", "/%", "/%25",
	} {
		f.Add(s)
	}
	base, _ := url.Parse("https://wx.example/some/page")
	f.Fuzz(func(t *testing.T, raw string) {
		got := SafeNext(raw)
		if got == defaultNext {
			return
		}
		if got != raw {
			t.Fatalf("SafeNext(%q) = %q: neither the input nor %s", raw, got, defaultNext)
		}
		if SafeNext(got) != got {
			t.Fatalf("SafeNext is not idempotent on %q", raw)
		}
		for i := 0; i < len(got); i++ {
			if got[i] <= 0x20 || got[i] >= 0x7f || got[i] == '\\' {
				t.Fatalf("accepted %q: byte %#x at %d", raw, got[i], i)
			}
		}
		// Resolved the way a browser resolves a Location header, the host
		// never changes.
		ref, err := url.Parse(got)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse: %v", raw, err)
		}
		if r := base.ResolveReference(ref); r.Host != base.Host || r.Scheme != base.Scheme || r.User != nil {
			t.Fatalf("accepted %q, which leaves the origin: %s", raw, r)
		}
		// However many times something decodes it, it stays a local path.
		dec := got
		for range 10 {
			d, err := url.PathUnescape(dec)
			if err != nil || d == dec {
				break
			}
			dec = d
			if !strings.HasPrefix(dec, "/") || strings.HasPrefix(dec, "//") || strings.ContainsAny(dec, "\\\t\r\n\x00") {
				t.Fatalf("accepted %q, which decodes to %q", raw, dec)
			}
		}
	})
}
