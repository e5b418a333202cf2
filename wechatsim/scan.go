package wechatsim

import (
	"net/http"
	"net/url"
	"strings"
)

// The QR scanner stand-in (微信扫一扫) for the computer login by QR code: on
// a real phone WeChat's scanner opens the scanned URL in its in-app
// browser; here the person pastes the URL shown under the computer's code,
// and the simulator opens it in this window, which plays the phone. With a
// second browser window (or a private one, for a separate cookie jar) the
// whole computer login runs on one machine.
//
// The chat window (/chat) has the same input as a 扫一扫 bar above the
// messages; its form submits here.
//
// Only URLs of the site the simulator is mounted on are opened: the
// scanner must not become an open redirect of a development server.

// maxScanURL bounds the pasted URL.
const maxScanURL = 2048

type scanPage struct {
	pageBase
	Action string
	URL    string
	Error  string
}

// handleScan shows the scanner page; with ?url= it opens that URL.
func (s *Sim) handleScan(w http.ResponseWriter, r *http.Request) {
	raw := strings.TrimSpace(r.URL.Query().Get("url"))
	page := scanPage{pageBase: pageBase{Static: s.publicBase(r) + "/static"}, Action: s.o.Prefix + "/scan", URL: raw}
	if raw == "" {
		s.render(w, http.StatusOK, "scan", page)
		return
	}
	target, ok := s.scannable(r, raw)
	if !ok {
		page.Error = "只能打开本站的 http(s) 链接，例如电脑上二维码下面的那个链接。"
		s.render(w, http.StatusBadRequest, "scan", page)
		return
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// scannable reports whether raw is an absolute http(s) URL on the same
// host as the simulator's public URL, and returns it normalised.
func (s *Sim) scannable(r *http.Request, raw string) (string, bool) {
	if len(raw) > maxScanURL {
		return "", false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Host == "" {
		return "", false
	}
	base, err := url.Parse(s.publicBase(r))
	if err != nil || !strings.EqualFold(base.Host, u.Host) {
		return "", false
	}
	u.Fragment = ""
	return u.String(), true
}
