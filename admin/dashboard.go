package admin

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"wxlogin/models"
)

// Chart spans.
const (
	hourSlots = 48 // logins per hour over the last 48 hours
	daySlots  = 30 // duplicate rate per day over the last 30 days
)

type dashboardData struct {
	Counts       *models.Dashboard
	Failures     []models.FailureCount
	FailureTotal int64
	Logins       chart
	DupRate      chart
	Today        string
	WeekStart    string
}

// dashboard shows the numbers an operator looks at first and two charts.
// "Today" and "this week" (from Monday) are in China Standard Time.
func (a *Admin) dashboard(c *gin.Context) {
	ctx := c.Request.Context()
	now := a.now()
	loc := a.tmpl.loc
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	weekStart := today.AddDate(0, 0, -((int(local.Weekday()) + 6) % 7))
	counts, err := a.db.DashboardCounts(ctx, today, weekStart, now.Add(-24*time.Hour))
	if err != nil {
		a.unavailable(c, err)
		return
	}
	fails, err := a.db.FailuresByErrCode(ctx, now.AddDate(0, 0, -daySlots))
	if err != nil {
		a.unavailable(c, err)
		return
	}
	_, offset := local.Zone()
	hourly, err := a.slotChart(c, now, offset, time.Hour, hourSlots, a.db.LoginsPerSlot)
	if err != nil {
		a.unavailable(c, err)
		return
	}
	daily, err := a.slotChart(c, now, offset, 24*time.Hour, daySlots, a.db.DuplicatesPerSlot)
	if err != nil {
		a.unavailable(c, err)
		return
	}
	d := dashboardData{Counts: counts, Failures: fails, Today: today.Format("01-02"), WeekStart: weekStart.Format("01-02")}
	for _, f := range fails {
		d.FailureTotal += f.N
	}
	d.Logins = loginsChart(hourly, offset, loc)
	d.DupRate = dupRateChart(daily, offset, loc)
	a.render(c, http.StatusOK, "dashboard", pageData{Title: "概览", Nav: "dashboard", Data: d})
}

// slotBuckets is n consecutive slots ending with the current one; slots
// without rows are zero.
type slotBuckets struct {
	First int64
	Size  time.Duration
	Vals  []models.Bucket
}

func (a *Admin) slotChart(c *gin.Context, now time.Time, offset int, size time.Duration, n int,
	query func(ctx context.Context, since time.Time, size time.Duration, offset int) ([]models.Bucket, error)) (slotBuckets, error) {
	secs := int64(size / time.Second)
	cur := (now.Unix() + int64(offset)) / secs
	first := cur - int64(n) + 1
	since := time.Unix(first*secs-int64(offset), 0)
	rows, err := query(c.Request.Context(), since, size, offset)
	if err != nil {
		return slotBuckets{}, err
	}
	out := slotBuckets{First: first, Size: size, Vals: make([]models.Bucket, n)}
	for i := range out.Vals {
		out.Vals[i].Slot = first + int64(i)
	}
	for _, r := range rows {
		if i := r.Slot - first; i >= 0 && i < int64(n) {
			out.Vals[i] = r
		}
	}
	return out, nil
}

// slotTime is the local start of a slot.
func slotTime(slot int64, size time.Duration, offset int, loc *time.Location) time.Time {
	return time.Unix(slot*int64(size/time.Second)-int64(offset), 0).In(loc)
}

func loginsChart(s slotBuckets, offset int, loc *time.Location) chart {
	pts := make([]point, len(s.Vals))
	for i, b := range s.Vals {
		t := slotTime(b.Slot, s.Size, offset, loc)
		p := point{Value: float64(b.Hits),
			Title: fmt.Sprintf("%s %02d:00–%02d:59 登录成功 %d 次", t.Format("01-02"), t.Hour(), t.Hour(), b.Hits)}
		switch {
		case t.Hour() == 0:
			p.Tick = t.Format("01-02")
		case t.Hour()%6 == 0:
			p.Tick = fmt.Sprintf("%d时", t.Hour())
		}
		pts[i] = p
	}
	return newChart("chart-logins", "每小时登录次数（近 48 小时）",
		"柱高为每小时成功登录（code 换取成功）的次数，时间为北京时间。", pts, 2, countLabel)
}

func dupRateChart(s slotBuckets, offset int, loc *time.Location) chart {
	pts := make([]point, len(s.Vals))
	for i, b := range s.Vals {
		t := slotTime(b.Slot, s.Size, offset, loc)
		rate := 0.0
		if b.Total > 0 {
			rate = float64(b.Hits) / float64(b.Total)
		}
		p := point{Value: rate,
			Title: fmt.Sprintf("%s 换取 %d 次，其中 %d 次收到重复回调（%s）", t.Format("01-02"), b.Total, b.Hits, pctLabel(rate))}
		if i%5 == 0 || i == len(s.Vals)-1 {
			p.Tick = t.Format("01-02")
		}
		pts[i] = p
	}
	return newChart("chart-dup-rate", "每日重复回调比例（近 30 天）",
		"柱高为当天收到重复回调的 code 占全部 code 的比例。重复回调已被吸收，不会重复换取。", pts, 0.01, pctLabel)
}
