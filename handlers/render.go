package handlers

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"wxlogin/display"
	"wxlogin/models"
	"wxlogin/static"
	"wxlogin/templates"
)

// templateData is what every page gets; pages read the fields they need.
type templateData struct {
	Simulator bool
	SiteName  string // SITE_NAME: titles, the landing page, the footer
	// AsksProfile: every login asks for the profile (WECHAT_SCOPE=
	// snsapi_userinfo), and the landing page says so; otherwise a login
	// is silent and only the person's own tap asks.
	AsksProfile bool
	// Phone: the request comes from a phone's browser (open_in_wechat:
	// copy the link, since a QR code cannot be scanned on the same phone).
	Phone     bool
	RequestID string
	CSRFToken string
	User      *models.User
	Message   *Message
	EntryURL  string
	QR        template.HTML
	Data      any
}

// Message is the content of a one-message page (errors, cancelled, ...).
type Message struct {
	Icon       string // success, warn, info, waiting
	Title      string
	Text       string
	RetryURL   string
	RetryLabel string
	RequestID  string
	// NoRef leaves the request id out: the page is no error (a snapshot
	// visitor), so there is nothing to quote to anyone.
	NoRef bool
}

// renderer holds every page parsed once at start-up, and the fingerprints of
// the static assets so their URLs can be cached forever.
type renderer struct {
	pages  map[string]*template.Template
	assets map[string]*asset
	bufs   sync.Pool
	self   string // our own host: avatar URLs there stay as they are
}

func newRenderer(baseHost string) (*renderer, error) {
	r := &renderer{pages: map[string]*template.Template{}, self: baseHost,
		bufs: sync.Pool{New: func() any { return new(bytes.Buffer) }}}
	var err error
	if r.assets, err = loadAssets(static.FS); err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"asset":      static.URL,
		"avatarURL":  r.avatarURL,
		"fmtTime":    func(t time.Time) string { return r.fmtTime(t) },
		"fmtTimePtr": func(t *time.Time) string { return r.fmtTimePtr(t) },
	}
	layout, err := template.New("").Funcs(funcs).ParseFS(templates.FS, "layout.html", "partials/*.html")
	if err != nil {
		return nil, err
	}
	pages, err := fs.Glob(templates.FS, "*.html")
	if err != nil {
		return nil, err
	}
	for _, p := range pages {
		if p == "layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templates.FS, p)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", p, err)
		}
		r.pages[strings.TrimSuffix(p, ".html")] = t
	}
	return r, nil
}

// render executes a page into a buffer first, so a template error becomes a
// clean 500 page instead of half a page.
func (h *Handler) render(c *gin.Context, status int, page string, data templateData) {
	h.renderTo(c.Writer, c.Request, status, page, data)
}

func (h *Handler) renderTo(w http.ResponseWriter, r *http.Request, status int, page string, data templateData) {
	t, ok := h.tmpl.pages[page]
	if !ok {
		h.log.Error("unknown page", "page", page)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	data.Simulator = h.cfg.Simulator
	data.SiteName = h.cfg.SiteName
	data.RequestID = requestIDOf(r.Context())
	if data.Message != nil {
		m := *data.Message // the catalogue is shared; never write into it
		if !m.NoRef {
			m.RequestID = data.RequestID
		}
		data.Message = &m
	}
	buf := h.tmpl.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer h.tmpl.bufs.Put(buf)
	if err := t.ExecuteTemplate(buf, "layout", data); err != nil {
		h.log.Error("rendering page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	// The length is known: a page over net/http's 2 KiB response buffer
	// (the profile page is) would otherwise go out chunked.
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// avatarURL is display.AvatarURL with this site's host.
func (r *renderer) avatarURL(raw string) string { return display.AvatarURL(raw, r.self) }

const timeLayout = "2006-01-02 15:04"

func (r *renderer) fmtTime(t time.Time) string { return display.Time(t, timeLayout) }

// fmtClock is a time of day with seconds (Beijing time): when a QR code
// was made, when it expires.
func (r *renderer) fmtClock(t time.Time) string { return display.Time(t, "15:04:05") }

func (r *renderer) fmtTimePtr(t *time.Time) string { return display.TimePtr(t, timeLayout) }
