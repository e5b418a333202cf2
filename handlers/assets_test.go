package handlers

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wxlogin/config"
	"wxlogin/metrics"
	"wxlogin/static"
)

// pageHandler is a Handler with what rendering and static files need (no
// database, no WeChat): enough for the routes these tests call.
func pageHandler(t *testing.T, vars map[string]string) *Handler {
	t.Helper()
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Deps{Config: cfg, Metrics: metrics.New(nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestStaticAssets(t *testing.T) {
	h := pageHandler(t, map[string]string{"DATA_DIR": t.TempDir()})
	router := h.Router()
	css := h.tmpl.assets["app.css"]
	icon := h.tmpl.assets["favicon.svg"]
	if css == nil || icon == nil || css.gz == nil {
		t.Fatal("app.css (gzipped) and favicon.svg must be embedded")
	}
	tests := []struct {
		name, method, url, acceptEnc, ifNoneMatch string
		status                                    int
		cache, encoding, etag                     string
		body                                      []byte
	}{
		{"fingerprinted, gzip", "GET", css.url, "gzip, deflate, br", "", 200,
			"public, max-age=31536000, immutable", "gzip", `"` + css.hash + `-gz"`, css.body},
		{"fingerprinted, identity", "GET", css.url, "", "", 200,
			"public, max-age=31536000, immutable", "", `"` + css.hash + `"`, css.body},
		{"gzip refused with q=0", "GET", css.url, "gzip;q=0, identity", "", 200,
			"public, max-age=31536000, immutable", "", `"` + css.hash + `"`, css.body},
		{"no fingerprint: revalidate", "GET", "/static/app.css", "gzip", "", 200,
			"no-cache", "gzip", `"` + css.hash + `-gz"`, css.body},
		{"an older release's fingerprint: revalidate", "GET", "/static/app.css?v=000000000000", "", "", 200,
			"no-cache", "", `"` + css.hash + `"`, css.body},
		{"revalidation hits", "GET", "/static/app.css", "gzip", `"` + css.hash + `-gz"`, 304,
			"no-cache", "", `"` + css.hash + `-gz"`, nil},
		{"small svg is not gzipped", "GET", icon.url, "gzip", "", 200,
			"public, max-age=31536000, immutable", "", `"` + icon.hash + `"`, icon.body},
		{"HEAD has no body", "HEAD", css.url, "", "", 200,
			"public, max-age=31536000, immutable", "", `"` + css.hash + `"`, nil},
		{"unknown file", "GET", "/static/nope.css", "", "", 404, "no-store", "", "", nil},
		{"no escaping the folder", "GET", "/static/../handlers/render.go", "", "", 404, "no-store", "", "", nil},
		{"Go source is not an asset", "GET", "/static/embed.go", "", "", 404, "no-store", "", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.url, nil)
			if tt.acceptEnc != "" {
				req.Header.Set("Accept-Encoding", tt.acceptEnc)
			}
			if tt.ifNoneMatch != "" {
				req.Header.Set("If-None-Match", tt.ifNoneMatch)
			}
			rec := httptest.NewRecorder()
			router.ServeHTTP(rec, req)
			res := rec.Result()
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.status)
			}
			if got := res.Header.Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control %q, want %q", got, tt.cache)
			}
			if got := res.Header.Get("Content-Encoding"); got != tt.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tt.encoding)
			}
			if tt.status == 404 {
				if !strings.Contains(rec.Body.String(), "页面不存在") {
					t.Error("404 is not the not-found page")
				}
				return
			}
			if got := res.Header.Get("ETag"); got != tt.etag {
				t.Errorf("ETag %q, want %q", got, tt.etag)
			}
			if tt.url == css.url && res.Header.Get("Vary") != "Accept-Encoding" {
				t.Error("a gzippable asset must say Vary: Accept-Encoding")
			}
			body := rec.Body.Bytes()
			if tt.encoding == "gzip" {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(body, tt.body) {
				t.Errorf("body: %d bytes, want %d", len(body), len(tt.body))
			}
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"": false, "gzip": true, "GZIP": true, "deflate, gzip;q=0.5": true, "gzip;q=0": false,
		"br": false, "*": true, "*;q=0": false, "identity": false, "x-gzip": false,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestUnknownAssetFailsThePage(t *testing.T) {
	h := pageHandler(t, map[string]string{"DATA_DIR": t.TempDir()})
	if _, err := static.URL("missing.css"); err == nil {
		t.Fatal("a missing asset must be an error, not an empty URL")
	}
	rec := httptest.NewRecorder()
	h.renderTo(rec, httptest.NewRequest(http.MethodGet, "/", nil), http.StatusOK, "home", templateData{})
	if rec.Code != http.StatusOK {
		t.Fatalf("home: %d", rec.Code)
	}
}
