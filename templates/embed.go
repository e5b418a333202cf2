// Package templates embeds wxlogin's html/template pages: one layout, shared
// partials and one file per page. They are parsed once at start-up.
package templates

import "embed"

// FS holds the layout, partials and pages.
//
//go:embed *.html partials/*.html
var FS embed.FS
