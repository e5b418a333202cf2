package wechatsim

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// avatarSizes are the sizes WeChat's headimgurl may end in; 0 means 640.
var avatarSizes = map[string]int{"0": 640, "46": 46, "64": 64, "96": 96, "132": 132}

var avatarColors = []string{"#07c160", "#10aeff", "#fa9d3b", "#fa5151", "#6467f0", "#1485ee", "#91d300", "#576b95"}

// handleAvatar serves GET /avatar/{key}/{size}: a generated SVG (the
// nickname's first character on a colour), so pages show avatars with no
// network access.
func (s *Sim) handleAvatar(w http.ResponseWriter, r *http.Request) {
	u := s.byKey[r.PathValue("key")]
	px, ok := avatarSizes[r.PathValue("size")]
	if u == nil || !u.avatar || !ok {
		http.NotFound(w, r)
		return
	}
	initial, _ := utf8.DecodeRuneInString(u.Nickname)
	h := fnv.New32a()
	h.Write([]byte(u.Key))
	color := avatarColors[h.Sum32()%uint32(len(avatarColors))]

	var text bytes.Buffer
	_ = xml.EscapeText(&text, []byte(string(initial)))
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 100 100">`, px, px)
	fmt.Fprintf(&b, `<rect width="100" height="100" fill="%s"/>`, color)
	fmt.Fprintf(&b, `<text x="50" y="50" dy=".35em" text-anchor="middle" font-family="sans-serif" font-size="50" fill="#fff">%s</text></svg>`, text.String())

	hd := w.Header()
	hd.Set("Content-Type", "image/svg+xml")
	hd.Set("Content-Security-Policy", "default-src 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "public, max-age=86400")
	hd.Set("Content-Length", strconv.Itoa(b.Len()))
	_, _ = w.Write(b.Bytes())
}
