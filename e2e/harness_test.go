package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The checks the other tests rely on must be able to fail: a page that
// breaks the CSP, throws, logs an error and loads a missing image is
// reported for each of these, and nothing else.
func TestHarnessReportsEveryKindOfProblem(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><html lang="zh-CN"><head><title>坏页面</title>` +
			`<script src="/boom.js"></script></head><body><h1 style="color:red">坏页面</h1>` +
			`<script>document.title = "inline";</script><img src="/missing.png" alt=""></body></html>`))
	})
	mux.HandleFunc("/boom.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write([]byte(`console.error("logged error"); throw new Error("thrown error");`))
	})
	mux.HandleFunc("/missing.png", http.NotFound)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	b := newBrowser(t, wechatPhone)
	b.open(srv.URL+"/", "/")
	want := []string{"inline style", "inline script", "logged error", "thrown error", "missing.png"}
	got := b.problemList()
	t.Logf("reported: %q", got)
	for _, w := range want {
		found := false
		for _, p := range got {
			found = found || strings.Contains(p, w)
		}
		if !found {
			t.Errorf("the harness missed the %s; it reported %q", w, got)
		}
	}
}
