package wechatsim_test

import (
	"net/http"
	"net/url"
	"regexp"
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

// The chat window's 扫一扫 bar submits to the scanner, which opens the URL
// in the chat window's own browser.
func TestChatWindowHasTheScanner(t *testing.T) {
	e := newEnv(t, nil)
	resp, body := get(t, e.base+"/chat")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="chat-scan"`) || !strings.Contains(body, `name="url"`) {
		t.Fatalf("chat window without the scanner: %d", resp.StatusCode)
	}
	m := regexp.MustCompile(`<form class="chat-scan"[^>]*action="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no scanner form action")
	}
	chat, _ := url.Parse(e.base + "/chat")
	action := chat.ResolveReference(&url.URL{Path: m[1]})
	scanned := strings.TrimSuffix(e.base, "/_sim") + "/login/qr/scan?t=abcdefghijklmnopqrstuvwxyzABCD-_"
	resp, _ = get(t, action.String()+"?url="+url.QueryEscape(scanned))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != scanned {
		t.Fatalf("the chat window's scanner: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}
