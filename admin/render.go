package admin

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"wxlogin/display"
	"wxlogin/models"
	"wxlogin/reqid"
	"wxlogin/static"
	"wxlogin/templates"
	"wxlogin/wechat"
)

// pageData is what every admin page gets.
type pageData struct {
	Title     string
	SiteName  string // SITE_NAME, in the title and the bar
	Nav       string // the menu entry to highlight
	Admin     *models.Admin
	CSRF      string
	Simulator bool
	RequestID string
	Flash     *flash
	Message   *message
	Data      any
}

// flash is a one-line result shown above a page after a POST (carried in the
// redirect's query as a fixed code, never as free text).
type flash struct {
	OK   bool
	Text string
}

// message is the content of an admin message page (403, 404, 429, ...).
type message struct {
	Title, Text string
	Command     string // a command to run, shown as code on one line
	BackURL     string
	BackLabel   string
}

// renderer holds every admin page parsed once, sharing the admin layout.
type renderer struct {
	pages map[string]*template.Template
	loc   *time.Location
	bufs  sync.Pool
}

func newRenderer() (*renderer, error) {
	r := &renderer{pages: map[string]*template.Template{},
		bufs: sync.Pool{New: func() any { return new(bytes.Buffer) }}}
	r.loc = display.Beijing()
	funcs := template.FuncMap{
		"asset":      static.URL, // the same fingerprints as the user pages: /static/ serves both
		"avatarURL":  func(raw string) string { return display.AvatarURL(raw, "") },
		"fmtTime":    r.fmtTime,
		"fmtTimePtr": r.fmtTimePtr,
		"describe":   wechat.Describe,
		"failDesc":   failDesc,
		"kindName":   kindName,
		"statusName": statusName,
		"actionName": actionName,
		"intPtr":     func(p *int) int { return deref(p) },
		"strPtr":     func(p *string) string { return deref(p) },
		"pct":        func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
		"inc":        func(i int) int { return i + 1 },
		"slotView":   newSlotView,
	}
	base, err := template.New("").Funcs(funcs).ParseFS(templates.AdminFS, "admin/_*.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(templates.AdminFS, "admin/*.html")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "admin/"), ".html")
		if strings.HasPrefix(name, "_") {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templates.AdminFS, f)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", f, err)
		}
		r.pages[name] = t
	}
	return r, nil
}

// render executes a page into a buffer first, so a template error becomes a
// clean 500 instead of half a page.
func (a *Admin) render(c *gin.Context, status int, page string, d pageData) {
	t, ok := a.tmpl.pages[page]
	if !ok {
		a.log.Error("unknown admin page", "page", page)
		c.String(http.StatusInternalServerError, "internal error")
		c.Abort()
		return
	}
	d.Simulator = a.cfg.Simulator
	d.SiteName = a.cfg.SiteName
	d.RequestID = reqid.From(c.Request.Context())
	if d.Admin == nil {
		if adm, ok := c.Get(ctxAdmin); ok {
			d.Admin = adm.(*models.Admin)
		}
	}
	if d.CSRF == "" {
		d.CSRF = c.GetString(ctxCSRF)
	}
	buf := a.tmpl.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer a.tmpl.bufs.Put(buf)
	if err := t.ExecuteTemplate(buf, "layout", d); err != nil {
		a.log.ErrorContext(c.Request.Context(), "rendering admin page", "page", page, "err", err)
		c.String(http.StatusInternalServerError, "internal error")
		c.Abort()
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// fail renders a message page with status and stops the chain.
func (a *Admin) fail(c *gin.Context, status int, m message) {
	if m.BackURL == "" {
		m.BackURL, m.BackLabel = "/admin", "返回概览"
	}
	if status == http.StatusServiceUnavailable {
		c.Header("Retry-After", "5")
	}
	a.render(c, status, "message", pageData{Title: m.Title, Message: &m})
	c.Abort()
}

var (
	msgBadRequest  = message{Title: "请求无效", Text: "参数不完整或格式不对。"}
	msgNotFound    = message{Title: "找不到", Text: "这个页面或用户不存在。"}
	msgForbidden   = message{Title: "请求被拒绝", Text: "安全校验没有通过（页面可能已过期）。请回到页面刷新后重新操作。"}
	msgUnavailable = message{Title: "服务暂时不可用", Text: "数据库暂时无法访问，请稍后再试。"}
)

// unavailable answers 503 when the database fails.
func (a *Admin) unavailable(c *gin.Context, err error) {
	a.log.ErrorContext(c.Request.Context(), "admin: database error", "err", err)
	a.fail(c, http.StatusServiceUnavailable, msgUnavailable)
}

const timeLayout = "2006-01-02 15:04:05"

func (r *renderer) fmtTime(t time.Time) string { return display.Time(t, timeLayout) }

func (r *renderer) fmtTimePtr(t *time.Time) string { return display.TimePtr(t, timeLayout) }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// statusName names a row's outcome (models.ExchangeRow.Outcome).
func statusName(s string) string {
	switch s {
	case models.StatusDone:
		return "成功"
	case models.OutcomeRefused:
		return "已拒绝"
	case models.StatusFailed:
		return "失败"
	case models.OutcomeSnapshot:
		return "快照页访客"
	case models.StatusPending:
		return "进行中"
	}
	return s
}

// failDesc says what went wrong with an exchange: WeChat's errcode when it
// gave one, otherwise what happened (errcode 0 is WeChat's "ok", never the
// meaning of a failure).
func failDesc(errcode int, kind string) string {
	if errcode != 0 {
		return wechat.Describe(errcode)
	}
	switch kind {
	case "unavailable":
		return "微信无应答（超时、5xx 或无法解析的回答）"
	case models.KindSnapshot:
		return "快照页访客，尚未授权（不是错误）"
	case models.KindDisabled:
		return "用户已停用，登录被拒绝"
	case models.KindMismatch:
		return "同一次登录的第二个 code 属于另一个人，已拒绝"
	case "store":
		return "保存失败（数据库）"
	case "abandoned":
		return "处理中断（实例退出）"
	case "wechat":
		return "微信报错（无错误码）"
	}
	return "—"
}

// kindName explains the exchange gate's failure kinds.
func kindName(k string) string {
	switch k {
	case "":
		return "—"
	case "rejected":
		return "code 被拒"
	case "unavailable":
		return "微信不可用"
	case "wechat":
		return "微信报错"
	case "snapshot":
		return "快照页访客"
	case "disabled":
		return "用户已停用"
	case "mismatch":
		return "不是同一人"
	case "store":
		return "存储失败"
	case "abandoned":
		return "处理中断"
	}
	return k
}

func actionName(a string) string {
	if n, ok := actionNames[a]; ok {
		return n
	}
	return a
}
