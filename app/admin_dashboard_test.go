package app

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"wxlogin/admin"
)

// svgDoc is what the dashboard's charts must parse as: well-formed SVG.
type svgDoc struct {
	XMLName xml.Name
	ViewBox string `xml:"viewBox,attr"`
	Role    string `xml:"role,attr"`
	Title   string `xml:"title"`
	Groups  []struct {
		Class string `xml:"class,attr"`
		Rects []struct {
			X      float64 `xml:"x,attr"`
			Y      float64 `xml:"y,attr"`
			Width  float64 `xml:"width,attr"`
			Height float64 `xml:"height,attr"`
			Title  string  `xml:"title"`
		} `xml:"rect"`
		Texts []string `xml:"text"`
	} `xml:"g"`
}

// chartOf parses the inline SVG of the chart figure with the given id.
func chartOf(t *testing.T, body, id string) svgDoc {
	t.Helper()
	m := regexp.MustCompile(`(?s)<figure class="chart" id="` + id + `">.*?(<svg .*?</svg>)`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no chart %s on the page", id)
	}
	var doc svgDoc
	if err := xml.Unmarshal([]byte(m[1]), &doc); err != nil {
		t.Fatalf("chart %s is not well-formed SVG: %v", id, err)
	}
	if doc.XMLName.Space != "http://www.w3.org/2000/svg" || doc.XMLName.Local != "svg" || doc.Role != "img" || doc.Title == "" {
		t.Fatalf("chart %s: root %v role %q title %q", id, doc.XMLName, doc.Role, doc.Title)
	}
	return doc
}

// barsOf returns the chart's bars: title → height.
func barsOf(t *testing.T, doc svgDoc) ([]string, map[string]float64) {
	t.Helper()
	var titles []string
	h := map[string]float64{}
	for _, g := range doc.Groups {
		if g.Class != "bars" {
			continue
		}
		for _, r := range g.Rects {
			titles = append(titles, r.Title)
			h[r.Title] = r.Height
		}
	}
	return titles, h
}

func findBar(titles []string, prefix string) string {
	for _, s := range titles {
		if strings.HasPrefix(s, prefix) {
			return s
		}
	}
	return ""
}

// The dashboard's numbers and charts are exactly what the rows say, and the
// login log filters the same rows by status, errcode and date.
func TestAdminDashboardNumbersChartsAndLoginLog(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	cst := time.FixedZone("CST", 8*3600)
	// Wednesday 2026-03-18 12:00 Beijing time: "this week" began Monday the 16th.
	w.clk.Advance(time.Date(2026, 3, 18, 12, 0, 0, 0, cst).Sub(time.Now()))
	now := w.clk.Now()

	users := []struct {
		openid string
		at     time.Time
	}{
		{"oToday1", now.Add(-time.Hour)}, {"oToday2", now.Add(-11 * time.Hour)}, // 01:xx today
		{"oTue1", now.Add(-26 * time.Hour)}, {"oTue2", now.Add(-30 * time.Hour)}, {"oMon", now.Add(-48 * time.Hour)},
		{"oSun1", now.Add(-61 * time.Hour)}, {"oSun2", now.Add(-64 * time.Hour)}, {"oSun3", now.Add(-70 * time.Hour)},
		{"oSat", now.Add(-80 * time.Hour)}, {"oOld", now.AddDate(0, 0, -40)},
	}
	ids := map[string]int64{}
	for _, u := range users {
		var id int64
		err := w.db.Gorm.Raw(`INSERT INTO users (openid, nickname, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id`,
			u.openid, "昵称"+u.openid, u.at.UTC(), u.at.UTC()).Scan(&id).Error
		if err != nil {
			t.Fatal(err)
		}
		ids[u.openid] = id
	}
	n := 0
	exchange := func(status string, at time.Time, dups int, errcode any, kind any, user any) {
		t.Helper()
		n++
		err := w.db.Gorm.Exec(`INSERT INTO code_exchanges (code_hash, state_hash, browser_hash, status, owner, lease_until,
		        duplicates, errcode, error_kind, user_id, created_at, updated_at)
		    VALUES (?, ?, 'b', ?, 'test-instance', ?, ?, ?, ?, ?, ?, ?)`,
			fmt.Sprintf("code%03d", n), fmt.Sprintf("state%03d", n), status, at.UTC(), dups, errcode, kind, user, at.UTC(), at.UTC()).Error
		if err != nil {
			t.Fatal(err)
		}
	}
	today1 := ids["oToday1"]
	exchange("done", now.Add(-time.Hour), 2, nil, nil, today1) // today 11:xx, two duplicates absorbed
	exchange("done", now.Add(-time.Hour), 0, nil, nil, today1)
	exchange("done", now.Add(-time.Hour), 0, nil, nil, nil)
	exchange("failed", now.Add(-2*time.Hour), 0, 40029, "rejected", nil) // today 10:xx
	exchange("failed", now.Add(-2*time.Hour), 0, 40029, "rejected", nil)
	exchange("pending", now.Add(-5*time.Minute), 4, nil, nil, nil) // today, four duplicates waiting
	for i := range 4 {                                             // Tuesday 06:xx, 30 h ago: outside the last 24 h
		exchange("done", now.Add(-30*time.Hour), map[bool]int{true: 1}[i == 0], nil, nil, nil)
	}
	exchange("failed", now.AddDate(0, 0, -3), 0, -1, "unavailable", nil)  // Sunday the 15th
	exchange("failed", now.AddDate(0, 0, -40), 5, 40163, "rejected", nil) // outside every window but the duplicate total

	adm, _ := w.loggedInAdmin()
	dash := adm.get(w.in.URL + "/admin")
	if dash.Status != http.StatusOK {
		t.Fatalf("dashboard: %d", dash.Status)
	}
	stats := map[string]int{
		"stat-users-total": 10, "stat-users-today": 2, "stat-users-week": 5,
		"stat-logins-24h": 3, "stat-duplicates": 2 + 4 + 1 + 5, "stat-failures": 3,
	}
	for id, want := range stats {
		m := regexp.MustCompile(`id="` + id + `">(-?\d+)<`).FindStringSubmatch(dash.Body)
		if m == nil {
			t.Errorf("%s missing", id)
			continue
		}
		if got, _ := strconv.Atoi(m[1]); got != want {
			t.Errorf("%s = %d, want %d", id, got, want)
		}
	}
	failures := regexp.MustCompile(`(?s)<table class="table" id="failures">.*?</table>`).FindString(dash.Body)
	for _, s := range []string{"<code>40029</code>", "code 无效", `<td class="num">2</td>`, "<code>-1</code>", "微信系统繁忙"} {
		if !strings.Contains(failures, s) {
			t.Errorf("failure table lacks %q", s)
		}
	}
	if strings.Contains(failures, "40163") {
		t.Error("a 40-day-old failure is in the 30-day table")
	}

	logins := chartOf(t, dash.Body, "chart-logins")
	titles, heights := barsOf(t, logins)
	if len(titles) != 48 {
		t.Fatalf("logins chart: %d bars, want 48", len(titles))
	}
	if !strings.HasPrefix(titles[47], "03-18 12:00") || !strings.HasPrefix(titles[0], "03-16 13:00") {
		t.Errorf("logins chart spans %q … %q, want 03-16 13:00 … 03-18 12:00", titles[0], titles[47])
	}
	three, four := findBar(titles, "03-18 11:00"), findBar(titles, "03-17 06:00")
	if !strings.HasSuffix(three, "登录成功 3 次") || !strings.HasSuffix(four, "登录成功 4 次") {
		t.Fatalf("bars: %q, %q", three, four)
	}
	if h3, h4 := heights[three], heights[four]; h4 <= 0 || h3/h4 < 0.74 || h3/h4 > 0.76 {
		t.Errorf("bar heights %.1f and %.1f are not 3:4", h3, h4)
	}
	if zero := findBar(titles, "03-18 10:00"); heights[zero] != 0 {
		t.Errorf("an hour with only failures has height %.1f", heights[zero])
	}

	dup := chartOf(t, dash.Body, "chart-dup-rate")
	titles, heights = barsOf(t, dup)
	if len(titles) != 30 {
		t.Fatalf("duplicate chart: %d bars, want 30", len(titles))
	}
	for _, want := range []string{"03-18 换取 6 次，其中 2 次收到重复回调（33.3%）", "03-17 换取 4 次，其中 1 次收到重复回调（25%）",
		"03-15 换取 1 次，其中 0 次收到重复回调（0%）", "02-17 换取 0 次"} {
		if findBar(titles, want) == "" {
			t.Errorf("duplicate chart has no bar %q", want)
		}
	}
	if h18, h17 := heights[findBar(titles, "03-18")], heights[findBar(titles, "03-17")]; h17 <= 0 || h18/h17 < 1.32 || h18/h17 > 1.34 {
		t.Errorf("duplicate rate bars %.1f and %.1f are not 33.3:25", h18, h17)
	}

	// The login log: the same rows, filtered.
	logCases := []struct {
		query string
		total int
	}{
		{"", 12},
		{"?status=failed", 4},
		{"?status=done", 7},
		{"?status=pending", 1},
		{"?status=failed&errcode=40029", 2},
		{"?errcode=-1", 1},
		{"?from=2026-03-17&to=2026-03-17", 4},
		{"?from=2026-03-18", 6},
		{"?to=2026-03-16", 2},
		{"?status=done&from=2026-03-18&to=2026-03-18", 3},
		{"?size=5&page=3", 12},
	}
	for _, lc := range logCases {
		p := adm.get(w.in.URL + "/admin/logins" + lc.query)
		if p.Status != http.StatusOK {
			t.Errorf("logins%s: %d", lc.query, p.Status)
			continue
		}
		if want := "共 " + strconv.Itoa(lc.total) + " 条"; !strings.Contains(p.Body, want) {
			t.Errorf("logins%s: page lacks %q", lc.query, want)
		}
	}
	p := adm.get(w.in.URL + "/admin/logins?status=pending")
	for _, s := range []string{"进行中", `<td class="num">4</td>`, "test-instance"} {
		if !strings.Contains(p.Body, s) {
			t.Errorf("pending row lacks %q", s)
		}
	}
	p = adm.get(w.in.URL + "/admin/logins?status=done&from=2026-03-18")
	if !strings.Contains(p.Body, `href="/admin/users/`+strconv.FormatInt(today1, 10)+`">昵称oToday1</a>`) {
		t.Error("a done row does not link its user by nickname")
	}
	for _, q := range []string{"?status=bogus", "?errcode=abc", "?errcode=1&errcode=2", "?from=2026-13-01", "?from=18-03-2026",
		"?to=2026-02-30", "?size=1000", "?page=0"} {
		if p := adm.get(w.in.URL + "/admin/logins" + q); p.Status != http.StatusBadRequest {
			t.Errorf("logins%s: %d, want 400", q, p.Status)
		}
	}
}

// The menu page gives the entry URL for a chosen next page and refuses a
// next that is not a local path.
func TestAdminMenuSetupPage(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	adm, _ := w.loggedInAdmin()
	cases := []struct {
		query, wantURL string
		refused        bool
	}{
		{"", w.in.URL + "/wechat/entry?next=/profile", false},
		{"?next=/orders%3Fid%3D7&scope=snsapi_base", w.in.URL + "/wechat/entry?next=/orders%3Fid%3D7&amp;scope=snsapi_base", false},
		{"?next=//evil.example/x", w.in.URL + "/wechat/entry?next=/profile", true},
		{"?next=https://evil.example", w.in.URL + "/wechat/entry?next=/profile", true},
	}
	for _, tc := range cases {
		p := adm.get(w.in.URL + "/admin/menu" + tc.query)
		if p.Status != http.StatusOK {
			t.Fatalf("menu%s: %d", tc.query, p.Status)
		}
		if !strings.Contains(p.Body, `<code id="entry-url">`+tc.wantURL+`</code>`) {
			t.Errorf("menu%s: entry URL is not %s", tc.query, tc.wantURL)
		}
		if refused := strings.Contains(p.Body, "已改为 /profile"); refused != tc.refused {
			t.Errorf("menu%s: refused %v, want %v", tc.query, refused, tc.refused)
		}
	}
	p := adm.get(w.in.URL + "/admin/menu")
	for _, s := range []string{`<code id="auth-domain">127.0.0.1</code>`, "不是 https", "IP 地址", "端口", "/wechat/callback"} {
		if !strings.Contains(p.Body, s) {
			t.Errorf("menu page lacks %q", s)
		}
	}
	// The QR code is inline SVG (no script, no other origin).
	qr := regexp.MustCompile(`(?s)<div class="qr" id="entry-qr">(<svg .*?</svg>)</div>`).FindStringSubmatch(p.Body)
	if qr == nil {
		t.Fatal("menu page has no QR code")
	}
	var doc svgDoc
	if err := xml.Unmarshal([]byte(qr[1]), &doc); err != nil || doc.Role != "img" {
		t.Errorf("QR code is not well-formed SVG: %v", err)
	}
	if p := adm.get(w.in.URL + "/admin/menu?scope=snsapi_all"); p.Status != http.StatusBadRequest {
		t.Errorf("unknown scope: %d, want 400", p.Status)
	}
}
