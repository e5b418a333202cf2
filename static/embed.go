// Package static embeds the CSS, images and the one small script (the QR
// login page's status poll) the pages use; no page loads anything from
// another origin, and no page has inline script.
package static

import "embed"

// FS holds the static assets.
//
//go:embed *.css *.svg *.js
var FS embed.FS
