package templates

import "embed"

// AdminFS holds the admin pages: their own layout, partials (files starting
// with "_") and one file per page. The user-facing renderer never sees them.
//
//go:embed admin/*.html
var AdminFS embed.FS
