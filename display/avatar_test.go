package display

import "testing"

func TestAvatarURL(t *testing.T) {
	tests := []struct{ raw, self, want string }{
		{"https://thirdwx.qlogo.cn/mmopen/x/132", "", "https://thirdwx.qlogo.cn/mmopen/x/132"},
		{"http://thirdwx.qlogo.cn/mmopen/x/132", "", "https://thirdwx.qlogo.cn/mmopen/x/132"},
		{"http://localhost:8080/_sim/avatar/zhangsan/132", "", "http://localhost:8080/_sim/avatar/zhangsan/132"},
		{"http://login.example.com/_sim/avatar/a/132", "login.example.com", "http://login.example.com/_sim/avatar/a/132"},
		{"javascript:alert(1)", "", ""},
		{"data:image/svg+xml,<svg/>", "", ""},
		{"//evil.example/x.png", "", ""},
		{"https://user:pw@evil.example/x.png", "", ""},
		{"/relative.png", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if got := AvatarURL(tt.raw, tt.self); got != tt.want {
			t.Errorf("AvatarURL(%q, %q) = %q, want %q", tt.raw, tt.self, got, tt.want)
		}
	}
}
