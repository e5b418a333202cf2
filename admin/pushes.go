package admin

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"wxlogin/models"
)

// The pushes page: what to paste into the MP backend's server configuration
// (never the Token or key themselves), followers, the menu-tap funnel and
// the push log.

const (
	followDays  = 30               // follower chart span
	funnelDays  = 14               // funnel table span
	funnelLimit = 50000            // rows read per side for the funnel
	tapWindow   = 30 * time.Minute // a login this soon after a tap counts for it
	maxOpenID   = 128
)

// pushTypes are the push log's type filter choices (fixed: never echo a
// request's value into a query without checking it is one of these).
var pushTypes = []choice{
	{"", "全部"}, {"subscribe", "关注"}, {"unsubscribe", "取消关注"}, {"VIEW", "菜单跳转（VIEW）"},
	{"CLICK", "菜单点击（CLICK）"}, {"SCAN", "扫码（SCAN）"}, {"text", "文本消息"}, {"image", "图片消息"},
	{"voice", "语音消息"}, {"location", "位置消息"},
}

type choice struct{ Value, Label string }

// funnelDay is one day of the funnel: taps on the menu's entry URLs (and
// the people tapping), entries that went on to WeChat's authorize page
// (counted per instance in memory, flushed every 10 s), completed logins,
// and the tappers who logged in within tapWindow of a tap.
type funnelDay struct {
	Day                     string
	Taps, Tappers, LoggedIn int
	Entries, Logins         int64
}

type pushesData struct {
	NotifyURL           string
	TokenSet, AESSet    bool
	Generated           bool
	LastCheck           time.Time
	Followers           int64
	NewChart, LostChart chart
	Funnel              []funnelDay
	EntryPrefix         string
	Types               []choice
	Type, OpenID        string
	Dups                bool
	Rows                []models.Push
	Pager               pager
}

// pushes is GET /admin/pushes.
func (a *Admin) pushes(c *gin.Context) {
	q, ok := strictQuery(c, "type", "openid", "dups", "page", "size")
	if !ok {
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	page, size, ok := pageParams(q)
	f := models.PushFilter{Type: q.Get("type"), OpenID: strings.TrimSpace(q.Get("openid")), Duplicates: q.Get("dups") == "1"}
	known := false
	for _, t := range pushTypes {
		known = known || t.Value == f.Type
	}
	if !ok || !known || len(f.OpenID) > maxOpenID || (q.Get("dups") != "" && q.Get("dups") != "1") {
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	ctx := c.Request.Context()
	now := a.now()
	d := pushesData{
		NotifyURL: a.cfg.BaseURL.String() + "/wechat/notify", TokenSet: a.cfg.PushToken != "", AESSet: a.cfg.PushAESKey != "",
		Generated: a.cfg.PushGenerated, EntryPrefix: a.cfg.BaseURL.String() + "/wechat/entry",
		Types: pushTypes, Type: f.Type, OpenID: f.OpenID, Dups: f.Duplicates,
	}
	var err error
	if d.LastCheck, err = a.db.LastPushCheck(ctx); err != nil {
		a.unavailable(c, err)
		return
	}
	if d.Followers, err = a.db.FollowerCount(ctx); err != nil {
		a.unavailable(c, err)
		return
	}
	loc := a.tmpl.loc
	_, offset := now.In(loc).Zone()
	daily, err := a.slotChart(c, now, offset, 24*time.Hour, followDays, a.db.FollowsPerSlot)
	if err != nil {
		a.unavailable(c, err)
		return
	}
	d.NewChart, d.LostChart = followCharts(daily, offset, loc)
	if d.Funnel, err = a.funnel(c, now, offset); err != nil {
		a.unavailable(c, err)
		return
	}
	rows, total, err := a.db.ListPushes(ctx, f, (page-1)*size, size)
	if err != nil {
		a.unavailable(c, err)
		return
	}
	d.Rows = rows
	d.Pager = newPager("/admin/pushes", q, page, size, total, len(rows))
	a.render(c, http.StatusOK, "pushes", pageData{Title: "消息推送", Nav: "pushes", Data: d})
}

func followCharts(s slotBuckets, offset int, loc *time.Location) (chart, chart) {
	gained := make([]point, len(s.Vals))
	lost := make([]point, len(s.Vals))
	for i, b := range s.Vals {
		t := slotTime(b.Slot, s.Size, offset, loc)
		tick := ""
		if i%5 == 0 || i == len(s.Vals)-1 {
			tick = t.Format("01-02")
		}
		gained[i] = point{Value: float64(b.Total), Tick: tick, Title: fmt.Sprintf("%s 新关注 %d 人", t.Format("01-02"), b.Total)}
		lost[i] = point{Value: float64(b.Hits), Tick: tick, Title: fmt.Sprintf("%s 取消关注 %d 人", t.Format("01-02"), b.Hits)}
	}
	return newChart("chart-follows", "每日新关注（近 30 天）", "subscribe 事件数，按事件时间（北京时间）。", gained, 2, countLabel),
		newChart("chart-unfollows", "每日取消关注（近 30 天）", "unsubscribe 事件数，按事件时间（北京时间）。", lost, 2, countLabel)
}

// funnel counts, per local day, the taps on wxlogin's entry URLs, the
// people who tapped, the entries (visits sent on to WeChat), the completed
// logins, and how many tappers completed a login within tapWindow of a tap.
func (a *Admin) funnel(c *gin.Context, now time.Time, offset int) ([]funnelDay, error) {
	loc := a.tmpl.loc
	local := now.In(loc)
	start := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -(funnelDays - 1))
	taps, tries, err := a.db.FunnelRows(c.Request.Context(), start, a.cfg.BaseURL.String()+"/wechat/entry", funnelLimit)
	if err != nil {
		return nil, err
	}
	logins := map[string][]time.Time{}
	for _, t := range tries {
		if t.Status == models.StatusDone {
			logins[t.OpenID] = append(logins[t.OpenID], t.At)
		}
	}
	entries, err := a.db.EntryCounts(c.Request.Context(), start.Format(models.DayLayout))
	if err != nil {
		return nil, err
	}
	done, err := a.slotChart(c, now, offset, 24*time.Hour, funnelDays, a.db.LoginsPerSlot)
	if err != nil {
		return nil, err
	}
	days := make([]funnelDay, funnelDays)
	tappers := make([]map[string]bool, funnelDays)
	loggedIn := make([]map[string]bool, funnelDays)
	for i := range days {
		day := start.AddDate(0, 0, i)
		days[i].Day = day.Format("01-02")
		days[i].Entries = entries[day.Format(models.DayLayout)]
		days[i].Logins = done.Vals[i].Hits
		tappers[i], loggedIn[i] = map[string]bool{}, map[string]bool{}
	}
	for _, t := range taps {
		lt := t.At.In(loc)
		i := int(time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, loc).Sub(start).Hours() / 24)
		if i < 0 || i >= funnelDays {
			continue
		}
		days[i].Taps++
		tappers[i][t.OpenID] = true
		for _, at := range logins[t.OpenID] {
			if !at.Before(t.At) && at.Sub(t.At) <= tapWindow {
				loggedIn[i][t.OpenID] = true
				break
			}
		}
	}
	for i := range days {
		days[i].Tappers, days[i].LoggedIn = len(tappers[i]), len(loggedIn[i])
	}
	// Newest first, like every other list.
	for i, j := 0, len(days)-1; i < j; i, j = i+1, j-1 {
		days[i], days[j] = days[j], days[i]
	}
	return days, nil
}
