package qrcode

import (
	"html"
	"strconv"
	"strings"
)

// QuietZone is the light border the standard asks for around the symbol,
// in modules; scanners find the code by it.
const QuietZone = 4

// SVG draws the code with its quiet zone as one path, one module per user
// unit, so CSS can size it freely. label becomes the accessible name
// (role="img", aria-label). The SVG has no style attribute or element, so it
// passes a Content-Security-Policy without 'unsafe-inline'.
func (c *Code) SVG(label string) string {
	w := strconv.Itoa(c.Size + 2*QuietZone)
	var b strings.Builder
	b.Grow(c.Size * c.Size)
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + w + ` ` + w +
		`" shape-rendering="crispEdges" role="img" aria-label="` + html.EscapeString(label) + `">`)
	b.WriteString(`<rect width="` + w + `" height="` + w + `" fill="#fff"/><path fill="#000" d="`)
	for y := range c.Size {
		for x := 0; x < c.Size; {
			if !c.Dark(x, y) {
				x++
				continue
			}
			run := 1
			for c.Dark(x+run, y) {
				run++
			}
			// One rectangle per horizontal run of dark modules.
			b.WriteString("M" + strconv.Itoa(x+QuietZone) + " " + strconv.Itoa(y+QuietZone) +
				"h" + strconv.Itoa(run) + "v1h-" + strconv.Itoa(run) + "z")
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String()
}
