package qrlogin

import (
	"strings"
)

// Computer is what the phone's confirmation page says about the computer
// that shows the code: its browser and operating system, read from the
// User-Agent it sent when the code was made. A person who did not just open
// a login page on a Windows PC with Chrome can tell that this code is not
// theirs (QR-login-jacking: docs/SECURITY.md).
type Computer struct {
	Browser string
	OS      string
}

// Describe reads a User-Agent. Only names from fixed lists and at most four
// digits of a version come out: the User-Agent is the attacker's to write,
// and nothing of it is shown as sent.
func Describe(ua string) Computer {
	ua = truncate(ua, maxUA)
	return Computer{Browser: browserOf(ua), OS: osOf(ua)}
}

func osOf(ua string) string {
	switch {
	case strings.Contains(ua, "Windows NT"):
		return "Windows"
	case strings.Contains(ua, "iPhone"):
		return "iOS"
	case strings.Contains(ua, "iPad"):
		return "iPadOS"
	case strings.Contains(ua, "Macintosh") || strings.Contains(ua, "Mac OS X"):
		return "macOS"
	case strings.Contains(ua, "CrOS"):
		return "ChromeOS"
	case strings.Contains(ua, "Android"):
		return "Android"
	case strings.Contains(ua, "HarmonyOS") || strings.Contains(ua, "OpenHarmony"):
		return "HarmonyOS"
	case strings.Contains(ua, "Linux"):
		return "Linux"
	}
	return "未知系统"
}

// browsers is checked in order: Edge and Opera also say Chrome, Chrome also
// says Safari.
var browsers = []struct{ token, name string }{
	{"MicroMessenger/", "微信内置浏览器"},
	{"Edg/", "Edge"},
	{"OPR/", "Opera"},
	{"Firefox/", "Firefox"},
	{"QQBrowser/", "QQ浏览器"},
	{"UCBrowser/", "UC浏览器"},
	{"HeadlessChrome/", "Chrome"},
	{"Chrome/", "Chrome"},
	{"Version/", "Safari"},
}

func browserOf(ua string) string {
	for _, b := range browsers {
		i := strings.Index(ua, b.token)
		if i < 0 {
			continue
		}
		if b.name == "Safari" && !strings.Contains(ua, "Safari/") {
			continue
		}
		v := ua[i+len(b.token):]
		n := 0
		for n < len(v) && n < 4 && v[n] >= '0' && v[n] <= '9' {
			n++
		}
		if n == 0 {
			return b.name
		}
		return b.name + " " + v[:n]
	}
	return "未知浏览器"
}
