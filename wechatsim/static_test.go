package wechatsim_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// The static server answers its files by exact name and nothing else: a
// directory path ends in 404 (after the mux's path-cleaning redirect, if
// any), never in a listing of what is there (issue 17).
func TestStaticServesFilesNotDirectories(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		path       string
		wantStatus int
	}{
		{"/static/", http.StatusNotFound},
		{"/static//", http.StatusNotFound},
		{"/static/./", http.StatusNotFound},
		{"/static/%2e/", http.StatusNotFound},
		{"/static/index.html", http.StatusNotFound},
		{"/static/sim.css/", http.StatusNotFound},
		{"/static/../static/", http.StatusNotFound},
		{"/static/nope.css", http.StatusNotFound},
		{"/static/sim.css", http.StatusOK},
		{"/static/favicon.svg", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(e.base + tt.path) // follows redirects
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			body := string(b)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d at %s, want %d", resp.StatusCode, resp.Request.URL.Path, tt.wantStatus)
			}
			if tt.wantStatus != http.StatusOK && (strings.Contains(body, "sim.css") || strings.Contains(body, "<a href")) {
				t.Fatalf("the answer lists the directory: %.200q", body)
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatal("no nosniff header")
			}
		})
	}
}
