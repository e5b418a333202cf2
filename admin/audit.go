package admin

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"wxlogin/models"
)

// actionNames are the audit log's actions, in the words the page shows.
var actionNames = map[string]string{
	"login":             "登录",
	"login_failed":      "登录失败",
	"login_locked":      "登录锁定",
	"logout":            "退出登录",
	"user_disable":      "停用用户",
	"user_enable":       "启用用户",
	"user_end_sessions": "结束用户会话",
	"user_refresh":      "刷新用户资料",
	"menu_publish":      "发布菜单",
	"menu_read":         "读取菜单",
	"menu_delete":       "删除菜单",
	"token_force":       "强制刷新 access_token",
}

// record writes one audit entry: who (adm), what (action), to whom
// (target), the outcome (detail), from where (the client address) and when.
// A failure to write is logged, never shown: the action itself is done.
func (a *Admin) record(c *gin.Context, adm *models.Admin, action, target, detail string) {
	e := &models.AuditEntry{Action: action, Target: target, Detail: clip(detail, 500), IP: c.ClientIP(), CreatedAt: a.now()}
	if adm != nil {
		id := adm.ID
		e.AdminID, e.AdminName = &id, adm.Username
	}
	if err := a.db.InsertAudit(c.Request.Context(), e); err != nil {
		a.log.ErrorContext(c.Request.Context(), "writing the audit log", "action", action, "err", err)
	}
}

type auditData struct {
	Entries []models.AuditEntry
	Action  string
	Actions []option
	Pager   pager
}

type option struct{ Value, Label string }

// audit lists the audit log, newest first, optionally one action only.
func (a *Admin) audit(c *gin.Context) {
	q, ok := strictQuery(c, "action", "page", "size")
	if !ok {
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	page, size, ok := pageParams(q)
	action := q.Get("action")
	if _, known := actionNames[action]; !ok || (action != "" && !known) {
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	entries, total, err := a.db.ListAudit(c.Request.Context(), action, (page-1)*size, size)
	if err != nil {
		a.unavailable(c, err)
		return
	}
	d := auditData{Entries: entries, Action: action, Pager: newPager("/admin/audit", q, page, size, total, len(entries))}
	for _, k := range []string{"login", "login_failed", "login_locked", "logout", "user_disable", "user_enable", "user_end_sessions", "user_refresh",
		"menu_publish", "menu_read", "menu_delete", "token_force"} {
		d.Actions = append(d.Actions, option{k, actionNames[k]})
	}
	a.render(c, http.StatusOK, "audit", pageData{Title: "操作日志", Nav: "audit", Data: d})
}
