package admin

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"wxlogin/models"
)

type loginsData struct {
	Rows                      []models.ExchangeRow
	Status, ErrCode, From, To string
	Statuses                  []option
	Errors                    map[string]string // per filter: what was wrong with its value
	Pager                     pager
	QRLogins                  []qrLoginRow
}

// logins is the login log: every code exchange with its outcome, errcode,
// duplicate count, instance and time, filtered by outcome, errcode and a
// date range (China Standard Time, both ends inclusive). A bad filter value
// is said next to its field, and the other filters still apply.
func (a *Admin) logins(c *gin.Context) {
	q, ok := strictQuery(c, "status", "errcode", "from", "to", "page", "size")
	if !ok {
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	d := loginsData{Errors: map[string]string{}}
	page, size, ok := pageParams(q)
	if !ok {
		d.Errors["page"] = "页码或每页条数无效，已显示第 1 页。"
		page, size = 1, defaultSize
		q.Del("page")
		q.Del("size")
	}
	f := models.ExchangeFilter{Status: q.Get("status")}
	switch f.Status {
	case "", models.StatusPending, models.StatusDone, models.StatusFailed, models.OutcomeRefused, models.OutcomeSnapshot:
	default:
		d.Errors["status"] = "没有这种状态。"
		f.Status = ""
		q.Del("status")
	}
	if s := q.Get("errcode"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < -1000 || n > 1_000_000_000 {
			d.Errors["errcode"] = "错误码应为整数，例如 40163。"
			q.Del("errcode")
		} else {
			f.ErrCode = &n
		}
	}
	f.From, f.To = dateRange(q, a.tmpl.loc, d.Errors)
	rows, total, err := a.db.ListExchanges(c.Request.Context(), f, (page-1)*size, size)
	if err != nil {
		a.unavailable(c, err)
		return
	}
	qr, err := a.qrLogins(c.Request.Context(), f.From, f.To)
	if err != nil {
		a.unavailable(c, err)
		return
	}
	d.Rows, d.QRLogins, d.Status, d.ErrCode, d.From, d.To = rows, qr, f.Status, q.Get("errcode"), q.Get("from"), q.Get("to")
	d.Statuses = []option{{"", "全部"}, {models.StatusDone, "成功"}, {models.OutcomeRefused, "已拒绝（用户已停用）"},
		{models.StatusFailed, "失败"}, {models.OutcomeSnapshot, "快照页访客"}, {models.StatusPending, "进行中"}}
	d.Pager = newPager("/admin/logins", q, page, size, total, len(rows))
	if len(d.Errors) == 0 && pastEnd(c, d.Pager) {
		return
	}
	status := http.StatusOK
	if len(d.Errors) > 0 {
		status = http.StatusBadRequest
	}
	a.render(c, status, "logins", pageData{Title: "登录记录", Nav: "logins", Data: d})
}
