package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"wxlogin/exchange"
	"wxlogin/models"
	"wxlogin/wechat"
)

// maxSearch bounds the search text.
const maxSearch = 100

type usersData struct {
	Query   string
	App     string // "", "oa" or "mini"
	Users   []models.UserRow
	Pager   pager
	Columns []sortColumn
	Error   string // a bad parameter, said inline; the list is shown unsorted
}

// sortColumn is a sortable column header: its label, the link that sorts
// by it (toggling the direction when it already does) and the current
// order as aria-sort says it.
type sortColumn struct {
	Key, Label, URL, Sort string // Sort: "", "ascending" or "descending"
}

// users lists and searches users (nickname, openid or unionid contains the
// text), a bounded page at a time, sorted by a column (newest first by
// default). A page past the end goes to the last page; a bad sort or page
// value is said on the page, the rest of the request still applies.
func (a *Admin) users(c *gin.Context) {
	q, ok := strictQuery(c, "q", "app", "page", "size", "sort", "dir")
	if !ok {
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	d := usersData{}
	page, size, ok := pageParams(q)
	if !ok {
		d.Error = "页码或每页条数无效，已显示第 1 页。"
		page, size = 1, defaultSize
		q.Del("page")
		q.Del("size")
	}
	text := strings.TrimSpace(q.Get("q"))
	app := q.Get("app")
	if app != "" && app != models.AppOA && app != models.AppMini {
		d.Error = "没有这个应用筛选，已显示全部用户。"
		app = ""
	}
	if app == "" {
		q.Del("app")
	}
	if len([]rune(text)) > maxSearch {
		d.Error = "搜索内容太长（最多 100 个字），已截短。"
		text = string([]rune(text)[:maxSearch])
	}
	q.Set("q", text)
	order := models.UserOrder{Key: q.Get("sort"), Asc: q.Get("dir") == "asc"}
	if order.Key == "" {
		order.Key = "id"
	}
	if !models.ValidUserOrder(order.Key) || (q.Get("dir") != "" && q.Get("dir") != "asc" && q.Get("dir") != "desc") {
		d.Error = "排序参数无效，已按最新用户排序。"
		order = models.UserOrder{Key: "id"}
		q.Del("sort")
		q.Del("dir")
	}
	rows, total, err := a.db.SearchUsersIn(c.Request.Context(), text, app, (page-1)*size, size, a.now(), order)
	if err != nil {
		a.unavailable(c, err)
		return
	}
	d.Query, d.App, d.Users = text, app, rows
	d.Pager = newPager("/admin/users", q, page, size, total, len(rows))
	if pastEnd(c, d.Pager) {
		return
	}
	d.Columns = sortColumns(q, order)
	status := http.StatusOK
	if d.Error != "" {
		status = http.StatusBadRequest
	}
	a.render(c, status, "users", pageData{Title: "用户", Nav: "users", Data: d})
}

// sortColumns builds the sortable headers of the user list; their links
// keep the search and the page size and start again at page 1.
func sortColumns(q url.Values, cur models.UserOrder) []sortColumn {
	cols := []sortColumn{{Key: "nickname", Label: "昵称"}, {Key: "first", Label: "首次登录"},
		{Key: "last", Label: "最近登录"}, {Key: "logins", Label: "登录次数"}}
	for i := range cols {
		v := url.Values{}
		for _, k := range []string{"q", "app", "size"} {
			if s := q.Get(k); s != "" {
				v.Set(k, s)
			}
		}
		v.Set("sort", cols[i].Key)
		asc := cols[i].Key == "nickname" // text reads A→Z first, numbers and times biggest first
		if cols[i].Key == cur.Key {
			asc = !cur.Asc
			cols[i].Sort = "descending"
			if cur.Asc {
				cols[i].Sort = "ascending"
			}
		}
		if asc {
			v.Set("dir", "asc")
		} else {
			v.Set("dir", "desc")
		}
		cols[i].URL = "/admin/users?" + v.Encode()
	}
	return cols
}

type userData struct {
	User       *models.User
	Logins     []models.ExchangeRow
	LoginTotal int64
	Sessions   []models.Session
	Identities []models.Identity
	Privileges string
	// Follow and Taps come from WeChat's pushes (/wechat/notify).
	Follow models.FollowStatus
	Taps   []models.Push
}

// user shows one user: profile, avatar, recent logins, live sessions and the
// actions.
func (a *Admin) user(c *gin.Context) {
	u, ok := a.loadUser(c)
	if !ok {
		return
	}
	q, ok := strictQuery(c, "done", "n", "wxerr", "fail")
	if !ok {
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	ctx := c.Request.Context()
	logins, total, err := a.db.ListExchanges(ctx, models.ExchangeFilter{UserID: u.ID}, 0, 20)
	if err != nil {
		a.unavailable(c, err)
		return
	}
	sess, err := a.db.UserSessions(ctx, u.ID, a.now())
	if err != nil {
		a.unavailable(c, err)
		return
	}
	idents, err := a.db.UserIdentities(ctx, u.ID)
	if err != nil {
		a.unavailable(c, err)
		return
	}
	d := userData{User: u, Logins: logins, LoginTotal: total, Sessions: sess, Identities: idents}
	if d.Follow, err = a.db.FollowOf(ctx, u.OpenID); err != nil {
		a.unavailable(c, err)
		return
	}
	if d.Taps, err = a.db.RecentTaps(ctx, u.OpenID, 5); err != nil {
		a.unavailable(c, err)
		return
	}
	a.render(c, http.StatusOK, "user", pageData{Title: userTitle(u), Nav: "users", Flash: userFlash(q), Data: d})
}

func userTitle(u *models.User) string {
	if u.Nickname != "" {
		return u.Nickname
	}
	return "用户 " + strconv.FormatInt(u.ID, 10)
}

// userFlash turns the fixed result codes of a redirect into a sentence.
func userFlash(q map[string][]string) *flash {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	switch get("done") {
	case "disabled":
		return &flash{OK: true, Text: "已停用该用户，并结束了他的所有会话。"}
	case "enabled":
		return &flash{OK: true, Text: "已启用该用户。"}
	case "ended":
		n, _ := strconv.Atoi(get("n"))
		return &flash{OK: true, Text: "已结束该用户的 " + strconv.Itoa(max(n, 0)) + " 个会话。"}
	case "refreshed":
		return &flash{OK: true, Text: "已从微信刷新资料。"}
	}
	if s := get("wxerr"); s != "" {
		if code, err := strconv.Atoi(s); err == nil {
			return &flash{Text: "刷新失败：微信返回错误码 " + strconv.Itoa(code) + "（" + wechat.Describe(code) + "）。"}
		}
	}
	switch get("fail") {
	case "notoken":
		return &flash{Text: "刷新失败：没有保存该用户的 refresh_token。请让用户重新登录一次。"}
	case "decrypt":
		return &flash{Text: "刷新失败：无法解密保存的令牌（TOKEN_KEY 是否更换过？）。请让用户重新登录一次。"}
	case "mismatch":
		return &flash{Text: "刷新失败：微信返回的 openid 与该用户不符。"}
	case "store":
		return &flash{Text: "刷新失败：保存资料时数据库出错，请稍后再试。"}
	}
	return nil
}

// loadUser reads the :id of the path; a bad or unknown id is a 404 page.
func (a *Admin) loadUser(c *gin.Context) (*models.User, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		a.fail(c, http.StatusNotFound, msgNotFound)
		return nil, false
	}
	u, err := a.db.UserByID(c.Request.Context(), id)
	if errors.Is(err, models.ErrNotFound) {
		a.fail(c, http.StatusNotFound, msgNotFound)
		return nil, false
	}
	if err != nil {
		a.unavailable(c, err)
		return nil, false
	}
	return u, true
}

// userAction runs one of the user page's buttons, records it in the audit
// log and goes back to the user page with the result (POST, redirect, GET).
func (a *Admin) userAction(c *gin.Context) {
	u, ok := a.loadUser(c)
	if !ok {
		return
	}
	adm := c.MustGet(ctxAdmin).(*models.Admin)
	ctx := c.Request.Context()
	target := "user:" + strconv.FormatInt(u.ID, 10) + " " + u.OpenID
	back := "/admin/users/" + strconv.FormatInt(u.ID, 10)
	action := lastSegment(c.FullPath())
	if _, ask := destructive[action]; ask && !confirmed(c) {
		a.renderConfirm(c, u, action)
		return
	}
	switch action {
	case "disable", "enable":
		if err := a.db.SetUserDisabled(ctx, u.ID, action == "disable"); err != nil {
			a.unavailable(c, err)
			return
		}
		a.record(c, adm, "user_"+action, target, "")
		c.Redirect(http.StatusSeeOther, back+"?done="+action+"d")
	case "end-sessions":
		n, err := a.db.DeleteUserSessions(ctx, u.ID)
		if err != nil {
			a.unavailable(c, err)
			return
		}
		a.record(c, adm, "user_end_sessions", target, "结束 "+strconv.FormatInt(n, 10)+" 个会话")
		c.Redirect(http.StatusSeeOther, back+"?done=ended&n="+strconv.FormatInt(n, 10))
	case "refresh":
		res := a.refreshProfile(ctx, u)
		a.record(c, adm, "user_refresh", target, res.detail)
		c.Redirect(http.StatusSeeOther, back+"?"+res.query)
	default:
		a.fail(c, http.StatusNotFound, msgNotFound)
	}
}

// lastSegment is the last element of a route path: the action's name.
func lastSegment(path string) string { return path[strings.LastIndex(path, "/")+1:] }

// refreshResult is how a refresh ended: the redirect's query and the audit detail.
type refreshResult struct{ query, detail string }

// refreshProfile fetches the user's profile again with the stored refresh
// token: refresh_token for a new access token, then userinfo. WeChat's
// errcode, if any, is shown with its meaning; tokens never leave this function.
func (a *Admin) refreshProfile(ctx context.Context, u *models.User) refreshResult {
	if len(u.RefreshTokenEnc) == 0 {
		return refreshResult{"fail=notoken", "失败：没有 refresh_token"}
	}
	ad := []byte(u.OpenID)
	rt, err := a.sealer.Open(u.RefreshTokenEnc, ad)
	if err != nil {
		a.log.WarnContext(ctx, "admin refresh: cannot open the stored refresh token", "user_id", u.ID, "err", err)
		return refreshResult{"fail=decrypt", "失败：无法解密令牌"}
	}
	wxFail := func(err error) refreshResult {
		code, ok := wechat.ErrCode(err)
		if !ok {
			code = wechat.ErrCodeUnavailable
		}
		a.log.WarnContext(ctx, "admin refresh: WeChat refused", "user_id", u.ID, "errcode", code, "err", err)
		return refreshResult{"wxerr=" + strconv.Itoa(code),
			"失败：errcode " + strconv.Itoa(code) + "（" + wechat.Describe(code) + "）"}
	}
	tok, err := a.wx.RefreshToken(ctx, string(rt))
	if err != nil {
		return wxFail(err)
	}
	if tok.OpenID != "" && tok.OpenID != u.OpenID {
		return refreshResult{"fail=mismatch", "失败：openid 不符"}
	}
	info, err := a.wx.UserInfo(ctx, tok.AccessToken, u.OpenID, "zh_CN")
	if err != nil {
		return wxFail(err)
	}
	now := a.now().UTC()
	accessEnc, err := a.sealer.Seal([]byte(tok.AccessToken), ad)
	if err != nil {
		return refreshResult{"fail=store", "失败：加密令牌出错"}
	}
	// WeChat's refresh keeps the refresh token (and its 30-day life); store
	// it again only if it changed.
	var refreshEnc []byte
	var refreshExp time.Time
	if tok.RefreshToken != "" && tok.RefreshToken != string(rt) {
		if refreshEnc, err = a.sealer.Seal([]byte(tok.RefreshToken), ad); err != nil {
			return refreshResult{"fail=store", "失败：加密令牌出错"}
		}
		refreshExp = now.Add(30 * 24 * time.Hour)
	}
	p := exchange.ProfileOf(info, "zh_CN")
	err = a.db.UpdateProfile(ctx, u.ID, *p, info.UnionID, accessEnc, now.Add(time.Duration(tok.ExpiresIn)*time.Second), refreshEnc, refreshExp)
	if err != nil {
		a.log.ErrorContext(ctx, "admin refresh: storing the profile", "user_id", u.ID, "err", err)
		return refreshResult{"fail=store", "失败：保存出错"}
	}
	return refreshResult{"done=refreshed", "成功"}
}
