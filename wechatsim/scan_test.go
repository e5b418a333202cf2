package wechatsim_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The 扫一扫 stand-in opens a scanned URL of the site in this window, and
// nothing else: it is not an open redirect.
func TestScanOpensOnlyThisSite(t *testing.T) {
	e := newEnv(t, nil)
	site := strings.TrimSuffix(e.base, "/_sim")
	resp, body := get(t, e.base+"/scan")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="url"`) {
		t.Fatalf("scanner page: %d", resp.StatusCode)
	}
	scanned := site + "/login/qr/scan?t=abcdefghijklmnopqrstuvwxyzABCD-_"
	resp, _ = get(t, e.base+"/scan?url="+url.QueryEscape(scanned))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != scanned {
		t.Fatalf("open: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, bad := range []string{
		"https://evil.example/login/qr/scan?t=x", "javascript:alert(1)", "//evil.example/", "/relative",
		"http://user@" + strings.TrimPrefix(site, "http://") + "/", strings.Repeat("a", 3000),
	} {
		resp, body := get(t, e.base+"/scan?url="+url.QueryEscape(bad))
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" || !strings.Contains(body, "只能打开本站") {
			t.Errorf("%.40q: %d %q", bad, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}
