package admin

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"wxlogin/models"
	"wxlogin/tokencenter"
	"wxlogin/wechat"
)

// menuPost runs the menu editor's buttons (POST /admin/menu, CSRF checked
// by requireAdmin):
//
//   - preview: check every field; with errors the editor comes back with
//     each error next to its field; without, a preview of the menu as
//     WeChat shows it and a confirmation form.
//   - publish (from the confirmation only): check again, then menu/create.
//   - load: read the live menu (get_current_selfmenu_info, also a menu set
//     in the MP backend) into the editor.
//   - delete: menu/delete, only with the confirmation box ticked.
//
// Publish, load and delete each leave an audit entry with the JSON sent
// and WeChat's answer (never the token). Nothing is sent while any field
// has an error.
func (a *Admin) menuPost(c *gin.Context) {
	d, _ := a.menuBase("", "")
	adm := c.MustGet(ctxAdmin).(*models.Admin)
	ctx := c.Request.Context()
	rule := urlRule{dev: a.cfg.Simulator}
	action := c.PostForm("action")
	if len(c.Request.PostForm["action"]) > 1 {
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	var fl *flash
	status := http.StatusOK
	switch action {
	case "":
		// A post with no button (nothing to do): back to the page.
		c.Redirect(http.StatusSeeOther, "/admin/menu")
		return
	case "preview", "publish":
		f := parseMenuForm(c.Request.PostForm)
		menu := f.validate(rule)
		d.Editor = f
		if !f.Valid() {
			status = http.StatusUnprocessableEntity
			fl = &flash{Text: "菜单有 " + strconv.Itoa(max(f.Errors(), 1)) + " 处需要修改，见下方标红的字段。没有发送给微信。"}
			break
		}
		sent := menu.JSON()
		if action == "preview" || c.PostForm("confirm") != "1" {
			d.Preview, d.PreviewJSON = &menu, sent
			break
		}
		if a.tokens == nil {
			fl = &flash{Text: "没有配置公众号，无法发布。"}
			break
		}
		err := a.tokens.Do(ctx, func(ctx context.Context, token string) error {
			return a.wx.CreateMenu(ctx, token, menu)
		})
		a.recordLong(c, adm, "menu_publish", "menu", auditDetail(sent, err))
		if err != nil {
			status = http.StatusBadGateway
			fl = &flash{Text: "发布失败：" + describeErr(err)}
			d.Preview, d.PreviewJSON = &menu, sent
			break
		}
		fl = &flash{OK: true, Text: "菜单已发布。微信客户端会在 5 分钟内更新菜单（重新进入公众号可立即看到）。"}
	case "load":
		if a.tokens == nil {
			fl = &flash{Text: "没有配置公众号，无法读取。"}
			d.Editor = a.starterMenu()
			break
		}
		var cur *wechat.CurrentMenu
		err := a.tokens.Do(ctx, func(ctx context.Context, token string) error {
			var err error
			cur, err = a.wx.CurrentMenu(ctx, token)
			return err
		})
		answer := ""
		if err == nil {
			answer = cur.Menu().JSON()
		}
		a.recordLong(c, adm, "menu_read", "menu", auditDetail("", err)+answerPart(answer))
		switch {
		case err != nil:
			status = http.StatusBadGateway
			fl = &flash{Text: "读取失败：" + describeErr(err)}
			d.Editor = parseMenuForm(c.Request.PostForm)
		case cur.IsMenuOpen == 0 || len(cur.Menu().Buttons) == 0:
			fl = &flash{OK: true, Text: "公众号当前没有菜单。"}
			d.Editor = emptyMenuForm()
		default:
			fl = &flash{OK: true, Text: "已读取公众号当前的菜单（包括在公众号后台设置的菜单）。"}
			d.Editor = formFromMenu(cur.Menu())
		}
	case "delete":
		d.Editor = parseMenuForm(c.Request.PostForm)
		if c.PostForm("confirm_delete") != "1" {
			status = http.StatusUnprocessableEntity
			fl = &flash{Text: "删除菜单前请勾选“确认删除公众号菜单”。没有发送给微信。"}
			break
		}
		if a.tokens == nil {
			fl = &flash{Text: "没有配置公众号，无法删除。"}
			break
		}
		err := a.tokens.Do(ctx, func(ctx context.Context, token string) error {
			return a.wx.DeleteMenu(ctx, token)
		})
		a.recordLong(c, adm, "menu_delete", "menu", auditDetail("", err))
		if err != nil {
			status = http.StatusBadGateway
			fl = &flash{Text: "删除失败：" + describeErr(err)}
			break
		}
		fl = &flash{OK: true, Text: "公众号菜单已删除。"}
	default:
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	a.render(c, status, "menu", pageData{Title: "菜单设置", Nav: "menu", Flash: fl, Data: d})
}

// auditDetail is the audit entry of a WeChat call: the JSON sent and the
// answer (errcode and meaning). Neither holds the token: the menu JSON is
// the admin's input, and errors from the wechat package are scrubbed.
func auditDetail(sent string, err error) string {
	out := ""
	if sent != "" {
		out = "sent=" + sent + " "
	}
	if err == nil {
		return out + `answer={"errcode":0,"errmsg":"ok"}`
	}
	if code, ok := wechat.ErrCode(err); ok {
		return out + "answer=errcode " + strconv.Itoa(code) + "（" + wechat.Describe(code) + "）"
	}
	return out + "answer=" + describeErr(err)
}

func answerPart(answer string) string {
	if answer == "" {
		return ""
	}
	return " menu=" + answer
}

// describeErr says in Chinese why a call through the token center failed.
func describeErr(err error) string {
	var fe *tokencenter.FetchError
	switch {
	case errors.Is(err, tokencenter.ErrForceTooSoon):
		return "access_token 已失效，30 秒内已强制刷新过，请稍后再试。"
	case errors.Is(err, tokencenter.ErrForceLimit):
		return "access_token 已失效，今天的强制刷新次数已用完。"
	case errors.Is(err, tokencenter.ErrBusy):
		return "正在获取 access_token，请稍后再试。"
	case errors.As(err, &fe):
		return "获取 access_token 失败，错误码 " + strconv.Itoa(fe.Code) + "（" + fe.Desc + "）。"
	}
	if code, ok := wechat.ErrCode(err); ok {
		return "微信返回错误码 " + strconv.Itoa(code) + "（" + wechat.Describe(code) + "）。"
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "请求超时，请稍后再试。"
	}
	return "微信接口暂时不可用，请稍后再试。"
}

// maxAuditDetail bounds an audit entry holding a menu's JSON (a full 3 × 5
// menu with long urls is a few kilobytes).
const maxAuditDetail = 32 << 10

// recordLong is record for entries that carry a request and its answer.
func (a *Admin) recordLong(c *gin.Context, adm *models.Admin, action, target, detail string) {
	e := &models.AuditEntry{Action: action, Target: target, Detail: clip(detail, maxAuditDetail), IP: c.ClientIP(), CreatedAt: a.now()}
	if adm != nil {
		id := adm.ID
		e.AdminID, e.AdminName = &id, adm.Username
	}
	if err := a.db.InsertAudit(c.Request.Context(), e); err != nil {
		a.log.ErrorContext(c.Request.Context(), "writing the audit log", "action", action, "err", err)
	}
}
