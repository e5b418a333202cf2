package admin

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"wxlogin/models"
	"wxlogin/tokencenter"
)

type accountData struct {
	Configured bool
	State      tokencenter.State
	// Fresh, Expiring, Dead summarise the token for a tag.
	Status, StatusText string
	AgeText            string
	ExpiresText        string
	LastErrorMeaning   string
}

// account is the 公众号 page: the access token's state as every instance
// shares it — age, expiry, which instance fetched it, the last error with
// its meaning, forced refreshes left today — and a force-refresh button.
// Never the token itself.
func (a *Admin) account(c *gin.Context) {
	if _, ok := strictQuery(c, "done"); !ok {
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	d := accountData{Configured: a.tokens != nil}
	if a.tokens != nil {
		st, err := a.tokens.State(c.Request.Context())
		if err != nil {
			a.unavailable(c, err)
			return
		}
		d.State = st
		switch {
		case !st.HasToken:
			d.Status, d.StatusText = "warn", "还没有获取过"
		case st.Dead:
			d.Status, d.StatusText = "warn", "已被微信判为无效，等待强制刷新"
		case st.ExpiresIn <= 0:
			d.Status, d.StatusText = "warn", "已过期，下次调用时自动获取"
		case st.ExpiresIn < 5*time.Minute:
			d.Status, d.StatusText = "ok", "即将到期，下次调用时自动续期"
		default:
			d.Status, d.StatusText = "ok", "有效"
		}
		if st.FetchedAt != nil {
			d.AgeText = roundDur(st.Age) + "前"
		}
		if st.ExpiresAt != nil {
			d.ExpiresText = roundDur(st.ExpiresIn)
		}
	}
	var fl *flash
	switch c.Query("done") {
	case "forced":
		fl = &flash{OK: true, Text: "已强制刷新 access_token。旧的令牌已立即失效，所有实例会改用新的。"}
	case "unconfirmed":
		fl = &flash{Text: "请先勾选确认框。没有刷新。"}
	case "too_soon":
		fl = &flash{Text: "30 秒内已经强制刷新过一次（微信要求间隔至少 30 秒），没有刷新。"}
	case "limit":
		fl = &flash{Text: "今天的 20 次强制刷新已经用完，没有刷新。"}
	case "busy":
		fl = &flash{Text: "另一个实例正在获取 access_token，请稍后再试。"}
	case "failed":
		fl = &flash{Text: "强制刷新失败，原因见下方“最近错误”。"}
	}
	a.render(c, http.StatusOK, "account", pageData{Title: "公众号", Nav: "account", Flash: fl, Data: d})
}

// forceRefresh is the 公众号 page's button: one forced refresh within
// WeChat's limits, only with the confirmation box ticked, recorded in the
// audit log (the outcome, never the token).
func (a *Admin) forceRefresh(c *gin.Context) {
	adm := c.MustGet(ctxAdmin).(*models.Admin)
	if c.PostForm("confirm") != "1" {
		c.Redirect(http.StatusSeeOther, "/admin/account?done=unconfirmed")
		return
	}
	if a.tokens == nil {
		a.fail(c, http.StatusNotFound, msgNotFound)
		return
	}
	err := a.tokens.Force(c.Request.Context())
	done := "forced"
	detail := "成功"
	if err != nil {
		detail = describeErr(err)
		switch {
		case errors.Is(err, tokencenter.ErrForceTooSoon):
			done = "too_soon"
		case errors.Is(err, tokencenter.ErrForceLimit):
			done = "limit"
		case errors.Is(err, tokencenter.ErrBusy):
			done = "busy"
		default:
			done = "failed"
		}
	}
	a.record(c, adm, "token_force", "access_token", detail)
	c.Redirect(http.StatusSeeOther, "/admin/account?done="+done)
}

// roundDur writes a duration in Chinese, to the second below a minute.
func roundDur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + " 秒"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " 分 " + strconv.Itoa(int(d%time.Minute/time.Second)) + " 秒"
	}
	return strconv.Itoa(int(d/time.Hour)) + " 小时 " + strconv.Itoa(int(d%time.Hour/time.Minute)) + " 分"
}
