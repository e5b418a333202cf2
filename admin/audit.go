package admin

import (
	"net/http"
	"strconv"
	"strings"

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
	"user_merge":        "合并用户", // models.AuditUserMerge, done by wxlogin itself (models.SystemActor)
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
	Entries  []auditRow
	Action   string
	Actions  []option
	Admin    string
	Admins   []string
	Target   string
	From, To string
	Errors   map[string]string // per filter: what was wrong with its value
	Pager    pager
}

// auditRow is an entry as the page shows it: the target user, when there
// is one, by name and linked.
type auditRow struct {
	models.AuditEntry
	UserID   int64  // the target user's id, 0 if the target is no user
	UserName string // their nickname now ("微信用户" without one)
	Result   string // the detail, or what the action did when it has none
}

type option struct{ Value, Label string }

// actionOrder is the order of the action filter's options.
var actionOrder = []string{"login", "login_failed", "login_locked", "logout", "user_disable", "user_enable", "user_end_sessions", "user_refresh",
	"user_merge", "menu_publish", "menu_read", "menu_delete", "token_force"}

// audit lists the audit log, newest first, filtered by admin, action,
// target (contains) and a date range (China Standard Time, both ends
// inclusive). A bad filter value is said next to its field, and the other
// filters still apply.
func (a *Admin) audit(c *gin.Context) {
	q, ok := strictQuery(c, "admin", "action", "target", "from", "to", "page", "size")
	if !ok {
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	d := auditData{Errors: map[string]string{}}
	page, size, ok := pageParams(q)
	if !ok {
		d.Errors["page"] = "页码或每页条数无效，已显示第 1 页。"
		page, size = 1, defaultSize
		q.Del("page")
		q.Del("size")
	}
	f := models.AuditFilter{Admin: strings.TrimSpace(q.Get("admin")), Action: q.Get("action"), Target: strings.TrimSpace(q.Get("target"))}
	if _, known := actionNames[f.Action]; f.Action != "" && !known {
		d.Errors["action"] = "没有这种操作。"
		f.Action = ""
		q.Del("action")
	}
	if len([]rune(f.Target)) > maxSearch {
		d.Errors["target"] = "对象最多 100 个字。"
		f.Target = ""
		q.Del("target")
	}
	if len([]rune(f.Admin)) > 64 {
		d.Errors["admin"] = "管理员名称太长。"
		f.Admin = ""
		q.Del("admin")
	}
	f.From, f.To = dateRange(q, a.tmpl.loc, d.Errors)
	ctx := c.Request.Context()
	entries, total, err := a.db.ListAuditFiltered(ctx, f, (page-1)*size, size)
	if err != nil {
		a.unavailable(c, err)
		return
	}
	admins, err := a.db.AuditAdmins(ctx)
	if err != nil {
		a.unavailable(c, err)
		return
	}
	d.Entries, err = a.auditRows(c, entries)
	if err != nil {
		a.unavailable(c, err)
		return
	}
	d.Action, d.Admin, d.Admins, d.Target, d.From, d.To = f.Action, f.Admin, admins, f.Target, q.Get("from"), q.Get("to")
	d.Pager = newPager("/admin/audit", q, page, size, total, len(entries))
	if len(d.Errors) == 0 && pastEnd(c, d.Pager) {
		return
	}
	for _, k := range actionOrder {
		d.Actions = append(d.Actions, option{k, actionNames[k]})
	}
	status := http.StatusOK
	if len(d.Errors) > 0 {
		status = http.StatusBadRequest
	}
	a.render(c, status, "audit", pageData{Title: "操作日志", Nav: "audit", Data: d})
}

// auditRows names the target users of a page of entries (one query).
func (a *Admin) auditRows(c *gin.Context, entries []models.AuditEntry) ([]auditRow, error) {
	rows := make([]auditRow, len(entries))
	var ids []int64
	for i, e := range entries {
		rows[i] = auditRow{AuditEntry: e, UserID: targetUserID(e.Target), Result: auditResult(e.Action, e.Detail)}
		if rows[i].UserID != 0 {
			ids = append(ids, rows[i].UserID)
		}
	}
	names, err := a.db.Nicknames(c.Request.Context(), ids)
	if err != nil {
		return nil, err
	}
	for i := range rows {
		if n, ok := names[rows[i].UserID]; ok {
			rows[i].UserName = n
			if n == "" {
				rows[i].UserName = "微信用户"
			}
		} else {
			rows[i].UserID = 0 // the user is gone: no link to a 404
		}
	}
	return rows, nil
}

// targetUserID reads "user:ID openid", the target of a user action.
func targetUserID(target string) int64 {
	rest, ok := strings.CutPrefix(target, "user:")
	if !ok {
		return 0
	}
	id, _, _ := strings.Cut(rest, " ")
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// auditResult is what an entry shows as its result: its detail, or for
// actions that record none, what they did.
func auditResult(action, detail string) string {
	if detail != "" {
		return detail
	}
	switch action {
	case "login":
		return "成功"
	case "logout":
		return "已退出"
	case "user_disable":
		return "已停用，会话已全部结束"
	case "user_enable":
		return "已启用"
	case "user_refresh":
		return "已刷新"
	}
	return "完成"
}
