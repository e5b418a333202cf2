package handlers

import (
	"html/template"

	"wxlogin/qrcode"
)

// qrSVG renders a QR code of s as inline SVG (level M: survives a smudged or
// partly covered screen), or "" when s does not fit a QR code. s is always
// our own entry URL, bounded by the query limit, so it fits.
func qrSVG(s string) template.HTML {
	return qrSVGLabel(s, "登录链接的二维码，用微信扫一扫打开")
}

// qrSVGLabel is qrSVG with another accessible label.
func qrSVGLabel(s, label string) template.HTML {
	c, err := qrcode.Encode([]byte(s), qrcode.M)
	if err != nil {
		return ""
	}
	// The SVG is built from module coordinates and an escaped label only.
	return template.HTML(c.SVG(label)) //nolint:gosec // escaped by qrcode.SVG
}
