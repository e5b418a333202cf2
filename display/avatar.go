// Package display holds the small rules for showing WeChat data on a page
// that the user pages and the admin pages must apply identically.
package display

import "net/url"

// AvatarURL returns a safe image URL for a stored avatar, or "" when nothing
// should be rendered: only http(s) URLs with a host and no userinfo. WeChat
// still hands out http:// avatar URLs; they are upgraded to https so a page
// served over https stays secure — except on self (the app's own host) and
// loopback, where the development simulator serves its avatars over http.
func AvatarURL(raw, self string) string {
	if raw == "" || len(raw) > 1024 {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return ""
	}
	switch u.Scheme {
	case "https":
	case "http":
		if h := u.Hostname(); h != self && h != "localhost" && h != "127.0.0.1" {
			u.Scheme = "https"
		}
	default:
		return ""
	}
	return u.String()
}
