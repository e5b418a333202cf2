// Package static embeds the CSS and images the pages use; no page loads
// anything from another origin.
package static

import "embed"

// FS holds the static assets.
//
//go:embed *.css *.svg
var FS embed.FS
