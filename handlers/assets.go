package handlers

import (
	"bytes"
	"compress/gzip"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"wxlogin/static"
)

// asset is one embedded static file, prepared once at start-up: its
// fingerprint, and a gzip copy when that is worth sending.
type asset struct {
	body        []byte
	gz          []byte // nil: send body as is
	contentType string
	hash        string // first 12 hex digits of the SHA-256 of body
	url         string // /static/name?v=hash
}

// gzipMin is the size below which gzip is not worth a header and a CPU hop.
const gzipMin = 512

// loadAssets reads every embedded static file. Text formats are gzipped
// here once instead of on every request; a copy that saves less than a
// tenth is dropped.
func loadAssets(fsys fs.FS) (map[string]*asset, error) {
	out := map[string]*asset{}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(name) == ".go" {
			return err
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		a := &asset{body: b, contentType: contentTypeOf(name), hash: static.Fingerprint(b)}
		a.url = "/static/" + name + "?v=" + a.hash
		if compressible(a.contentType) && len(b) >= gzipMin {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			_, _ = zw.Write(b)
			if err := zw.Close(); err != nil {
				return err
			}
			if buf.Len() < len(b)*9/10 {
				a.gz = buf.Bytes()
			}
		}
		out[name] = a
		return nil
	})
	return out, err
}

func contentTypeOf(name string) string {
	switch path.Ext(name) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".js":
		return "text/javascript; charset=utf-8"
	}
	return "application/octet-stream"
}

func compressible(ct string) bool {
	return strings.HasPrefix(ct, "text/") || ct == "image/svg+xml"
}

// acceptsGzip reads Accept-Encoding: gzip (or *) with a q-value above 0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		q := strings.TrimSpace(params)
		if v, ok := strings.CutPrefix(q, "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f == 0 {
				continue
			}
		}
		return true
	}
	return false
}

// staticFile serves an embedded asset. The pages link to fingerprinted URLs
// (?v= the content hash), which never change meaning, so those are cached for
// a year as immutable. Any other URL of an asset (no v, or the v of an
// older release) must be revalidated: caching it for long would pin stale
// CSS after a deploy. The ETag makes revalidation a 304.
func (h *Handler) staticFile(c *gin.Context) {
	name := strings.TrimPrefix(path.Clean(c.Param("path")), "/")
	a, ok := h.tmpl.assets[name]
	if !ok {
		h.errorPage(c, http.StatusNotFound, pageNotFound)
		return
	}
	hd := c.Writer.Header()
	if c.Query("v") == a.hash {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "no-cache")
	}
	etag := `"` + a.hash + `"`
	body := a.body
	if a.gz != nil {
		hd.Set("Vary", "Accept-Encoding")
		if acceptsGzip(c.GetHeader("Accept-Encoding")) {
			body = a.gz
			etag = `"` + a.hash + `-gz"`
			hd.Set("Content-Encoding", "gzip")
		}
	}
	hd.Set("ETag", etag)
	hd.Set("Content-Type", a.contentType)
	if match := c.GetHeader("If-None-Match"); match != "" && etagMatches(match, etag) {
		hd.Del("Content-Encoding")
		c.Status(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	c.Status(http.StatusOK)
	if c.Request.Method != http.MethodHead {
		_, _ = c.Writer.Write(body)
	}
}

// etagMatches implements If-None-Match's weak comparison.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
