package app

import (
	"net/http"
	"strings"
	"testing"
)

// Whatever WeChat (or an attacker who controls their own profile) puts in a
// nickname, region or avatar URL is rendered as text, never as markup; an
// avatar URL that is not http(s) is not rendered at all; WeChat's http://
// avatars are shown over https. The values are written straight into the
// users row, as if WeChat had sent them.
func TestProfileOutputIsEscaped(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	b := newBrowser(t)
	e.login(b, in, "zhangsan")
	uid := e.userIDOf(in, "zhangsan")
	set := func(t *testing.T, col, v string) {
		t.Helper()
		if err := in.App.DB.Gorm.Exec("UPDATE users SET "+col+" = ? WHERE id = ?", v, uid).Error; err != nil {
			t.Fatal(err)
		}
	}
	profile := func(t *testing.T) string {
		t.Helper()
		p := b.get(in.URL + "/profile")
		if p.Status != http.StatusOK {
			t.Fatalf("profile: %d", p.Status)
		}
		return p.Body
	}

	t.Run("text fields", func(t *testing.T) {
		fields := []struct{ col, hostile, escaped string }{
			{"nickname", `</h1><script>alert(1)</script>`, `&lt;/h1&gt;&lt;script&gt;alert(1)&lt;/script&gt;`},
			// province, city and country are no longer shown (WeChat sends
			// them empty since 2021); the nickname is what people see.
		}
		for _, f := range fields {
			set(t, f.col, f.hostile)
		}
		body := profile(t)
		for _, f := range fields {
			if f.hostile != f.escaped && strings.Contains(body, f.hostile) {
				t.Errorf("%s rendered unescaped", f.col)
			}
			if !strings.Contains(body, f.escaped) {
				t.Errorf("%s: escaped form %q not in the page", f.col, f.escaped)
			}
		}
		var openid string
		in.App.DB.Gorm.Raw("SELECT openid FROM users WHERE id = ?", uid).Scan(&openid)
		set(t, "nickname", `{{.User.OpenID}}`)
		if body = profile(t); !strings.Contains(body, `{{.User.OpenID}}`) || strings.Contains(body, openid) {
			t.Error("template syntax in a field was executed (the openid appeared)")
		}
		for _, f := range fields {
			set(t, f.col, "x")
		}
	})

	avatars := []struct {
		name, url, want string // want "": no <img> at all
	}{
		{"WeChat http avatar upgraded", "http://thirdwx.qlogo.cn/mmopen/vi_32/Q0j4TwGTfTK/132", `src="https://thirdwx.qlogo.cn/mmopen/vi_32/Q0j4TwGTfTK/132"`},
		{"uppercase scheme upgraded", "HTTP://wx.qlogo.cn/mmopen/abc/0", `src="https://wx.qlogo.cn/mmopen/abc/0"`},
		{"https kept", "https://thirdwx.qlogo.cn/mmopen/abc/64", `src="https://thirdwx.qlogo.cn/mmopen/abc/64"`},
		{"quote breaking out of the attribute", `https://thirdwx.qlogo.cn/a"onerror="alert(1)`, `src="https://thirdwx.qlogo.cn/a%22onerror=%22alert%281%29"`},
		{"javascript", "javascript:alert(1)", ""},
		{"javascript with leading space", " javascript:alert(1)", ""},
		{"data URL", "data:image/svg+xml,<svg onload=alert(1)>", ""},
		{"vbscript", "vbscript:msgbox(1)", ""},
		{"file", "file:///etc/passwd", ""},
		{"ftp", "ftp://thirdwx.qlogo.cn/a.png", ""},
		{"protocol-relative", "//evil.example/a.png", ""},
		{"relative", "/admin/users", ""},
		{"userinfo", "https://user:pass@thirdwx.qlogo.cn/a", ""},
		{"control character", "https://thirdwx.qlogo.cn/a\nb", ""},
		{"overlong", "https://thirdwx.qlogo.cn/" + strings.Repeat("a", 2000), ""},
	}
	for _, a := range avatars {
		t.Run("avatar "+a.name, func(t *testing.T) {
			set(t, "avatar_url", a.url)
			body := profile(t)
			img := strings.Contains(body, `<img class="avatar"`)
			if a.want == "" {
				if img {
					t.Fatalf("avatar %q rendered", a.url)
				}
				for _, bad := range []string{"javascript:", "vbscript:", "data:image/svg", "file:", "evil.example", "onerror", "onload"} {
					if strings.Contains(body, bad) {
						t.Fatalf("page contains %q", bad)
					}
				}
				return
			}
			if !img || !strings.Contains(body, a.want) {
				t.Fatalf("avatar %q: want %s in the page", a.url, a.want)
			}
			if strings.Contains(body, `src="http://`) {
				t.Fatal("avatar served over plain http")
			}
		})
	}
}
