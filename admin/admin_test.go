package admin

import (
	"bytes"
	"encoding/xml"
	"net/url"
	"strings"
	"testing"

	"wxlogin/config"
)

func TestSafeAdminNext(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "/admin"},
		{"/admin", "/admin"},
		{"/admin/users?q=a&page=2", "/admin/users?q=a&page=2"},
		{"/admin/users/7", "/admin/users/7"},
		{"/admin/login", "/admin"},
		{"/admin/login?next=/admin", "/admin"},
		{"/administrator", "/admin"},
		{"/profile", "/admin"},
		{"//evil.example/admin", "/admin"},
		{"/\\evil.example", "/admin"},
		{"https://evil.example/admin", "/admin"},
		{"/admin/../profile", "/admin"},
		{"/admin/%2e%2e/profile", "/admin"},
		{"/admin/\r\nSet-Cookie:x", "/admin"},
	}
	for _, tt := range tests {
		if got := safeAdminNext(tt.in); got != tt.want {
			t.Errorf("safeAdminNext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestTokensEqual(t *testing.T) {
	tests := []struct {
		want, got string
		ok        bool
	}{
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"abc", "ab", false},
		{"", "", false}, // no token stored: nothing matches
		{"abc", "", false},
	}
	for _, tt := range tests {
		if tokensEqual(tt.want, tt.got) != tt.ok {
			t.Errorf("tokensEqual(%q, %q) = %v", tt.want, tt.got, !tt.ok)
		}
	}
}

func TestNiceCeilAndLabels(t *testing.T) {
	for _, tt := range []struct{ in, want float64 }{
		{0, 1}, {1, 1}, {2, 2}, {3, 4}, {5, 6}, {7, 8}, {9, 10}, {11, 20}, {250, 400}, {0.013, 0.02}, {0.5, 0.6},
	} {
		if got := niceCeil(tt.in); got < tt.want*0.999 || got > tt.want*1.001 {
			t.Errorf("niceCeil(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	if countLabel(3) != "3" || countLabel(0.5) != "0.5" || pctLabel(0.25) != "25%" || pctLabel(1.0/3) != "33.3%" {
		t.Error("axis labels")
	}
}

// A chart rendered by the template is well-formed SVG whose bars are
// proportional to the values, with hostile text escaped.
func TestChartRendersWellFormedSVG(t *testing.T) {
	r, err := newRenderer()
	if err != nil {
		t.Fatal(err)
	}
	pts := []point{{Value: 0, Title: "zero"}, {Value: 5, Tick: "a", Title: "five"}, {Value: 10, Tick: `<b>&"`, Title: `ten <script>`}}
	c := newChart("c1", `title & <more>`, "desc", pts, 2, countLabel)
	var buf bytes.Buffer
	if err := r.pages["dashboard"].ExecuteTemplate(&buf, "chart", c); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	start, end := strings.Index(out, "<svg"), strings.Index(out, "</svg>")
	if start < 0 || end < 0 {
		t.Fatalf("no svg in %s", out)
	}
	var doc struct {
		XMLName xml.Name
		Rects   []struct {
			Height float64 `xml:"height,attr"`
			Title  string  `xml:"title"`
		} `xml:"g>rect"`
		Texts []string `xml:"g>text"`
	}
	if err := xml.Unmarshal([]byte(out[start:end+len("</svg>")]), &doc); err != nil {
		t.Fatalf("not well-formed: %v\n%s", err, out)
	}
	if len(doc.Rects) != 3 || doc.Rects[0].Height != 0 || doc.Rects[2].Height != 2*doc.Rects[1].Height {
		t.Fatalf("bars %+v", doc.Rects)
	}
	if doc.Rects[2].Title != "ten <script>" || strings.Contains(out, "<script>") || strings.Contains(out, "<b>") {
		t.Error("text not escaped")
	}
	if c.Empty {
		t.Error("a chart with values is not empty")
	}
	if e := newChart("c2", "t", "d", []point{{}, {}}, 2, countLabel); !e.Empty {
		t.Error("an all-zero chart is not marked empty")
	}
}

func TestBaseURLChecks(t *testing.T) {
	tests := []struct {
		base     string
		allOK    bool
		wantWarn []string
	}{
		{"https://login.example.com", true, nil},
		{"https://login.example.com:443", true, nil},
		{"http://login.example.com", false, []string{"不是 https"}},
		{"https://203.0.113.7", false, []string{"IP 地址"}},
		{"https://login.example.com:8443", false, []string{"端口 8443"}},
		{"http://localhost:8080", false, []string{"不是 https", "localhost", "端口 8080"}},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.base)
		a := &Admin{cfg: &config.Config{BaseURL: u}}
		checks := a.baseURLChecks()
		var warns []string
		for _, c := range checks {
			if !c.OK {
				warns = append(warns, c.Text)
			}
		}
		if tt.allOK != (len(warns) == 0) {
			t.Errorf("%s: warnings %q", tt.base, warns)
		}
		joined := strings.Join(warns, "\n")
		for _, w := range tt.wantWarn {
			if !strings.Contains(joined, w) {
				t.Errorf("%s: no warning about %q in %q", tt.base, w, joined)
			}
		}
	}
}

func TestUserFlashOnlyFromFixedCodes(t *testing.T) {
	tests := []struct {
		q    url.Values
		want string
	}{
		{url.Values{"done": {"disabled"}}, "已停用"},
		{url.Values{"done": {"ended"}, "n": {"3"}}, "3 个会话"},
		{url.Values{"wxerr": {"42002"}}, "refresh_token 已过期"},
		{url.Values{"wxerr": {"<script>"}}, ""},
		{url.Values{"done": {"<b>hi</b>"}}, ""},
		{url.Values{"fail": {"notoken"}}, "refresh_token"},
	}
	for _, tt := range tests {
		f := userFlash(tt.q)
		if tt.want == "" {
			if f != nil {
				t.Errorf("%v: flash %q from free text", tt.q, f.Text)
			}
			continue
		}
		if f == nil || !strings.Contains(f.Text, tt.want) {
			t.Errorf("%v: flash %+v, want %q", tt.q, f, tt.want)
		}
	}
}
