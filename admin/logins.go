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
	Pager                     pager
	QRLogins                  []qrLoginRow
}

// logins is the login log: every code exchange with its status, errcode,
// duplicate count, instance and time, filtered by status, errcode and a date
// range (China Standard Time, both ends inclusive).
func (a *Admin) logins(c *gin.Context) {
	q, ok := strictQuery(c, "status", "errcode", "from", "to", "page", "size")
	if !ok {
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	page, size, ok := pageParams(q)
	if !ok {
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	f := models.ExchangeFilter{Status: q.Get("status")}
	switch f.Status {
	case "", models.StatusPending, models.StatusDone, models.StatusFailed, models.OutcomeRefused, models.OutcomeSnapshot:
	default:
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	if s := q.Get("errcode"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < -1000 || n > 1_000_000_000 {
			a.fail(c, http.StatusBadRequest, msgBadRequest)
			return
		}
		f.ErrCode = &n
	}
	from, ok1 := dayParam(q.Get("from"), a.tmpl.loc)
	to, ok2 := dayParam(q.Get("to"), a.tmpl.loc)
	if !ok1 || !ok2 {
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	f.From = from
	if !to.IsZero() {
		f.To = to.AddDate(0, 0, 1)
	}
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
	d := loginsData{Rows: rows, QRLogins: qr, Status: f.Status, ErrCode: q.Get("errcode"), From: q.Get("from"), To: q.Get("to"),
		Statuses: []option{{"", "全部"}, {models.StatusDone, "成功"}, {models.StatusFailed, "失败"}, {models.StatusPending, "进行中"}},
		Pager:    newPager("/admin/logins", q, page, size, total, len(rows))}
	a.render(c, http.StatusOK, "logins", pageData{Title: "登录记录", Nav: "logins", Data: d})
}
