package admin

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"wxlogin/models"
)

// confirmData is a confirmation page: what is about to happen, the button
// that does it (a POST with confirm=1) and the way back.
type confirmData struct {
	Heading, Text, Button, Action, Back string
}

// destructive are the user actions that ask first: what they say and do.
var destructive = map[string]struct{ heading, text, button string }{
	"disable":      {"停用这个用户？", "停用会立即结束他的所有会话（%d 个），之后他无法再登录，直到重新启用。", "停用用户"},
	"end-sessions": {"结束这个用户的所有会话？", "他在所有设备上的登录（%d 个会话）会立即失效，需要重新登录。", "结束所有会话"},
}

// confirmed reports whether a destructive POST carries confirm=1; a POST
// without it (an old form, a stray click) gets the confirmation page and
// changes nothing.
func confirmed(c *gin.Context) bool { return c.PostForm("confirm") == "1" }

// confirmPage is GET /admin/users/:id/disable and /end-sessions: the page
// that asks before the POST does it. It works without script: a form and
// a link.
func (a *Admin) confirmPage(c *gin.Context) {
	u, ok := a.loadUser(c)
	if !ok {
		return
	}
	if _, ok := strictQuery(c); !ok {
		a.fail(c, http.StatusBadRequest, msgBadRequest)
		return
	}
	a.renderConfirm(c, u, lastSegment(c.FullPath()))
}

func (a *Admin) renderConfirm(c *gin.Context, u *models.User, action string) {
	d, ok := destructive[action]
	if !ok {
		a.fail(c, http.StatusNotFound, msgNotFound)
		return
	}
	sess, err := a.db.UserSessions(c.Request.Context(), u.ID, a.now())
	if err != nil {
		a.unavailable(c, err)
		return
	}
	back := "/admin/users/" + strconv.FormatInt(u.ID, 10)
	cd := confirmData{Heading: d.heading, Text: fmt.Sprintf(d.text, len(sess)), Button: d.button,
		Action: back + "/" + action, Back: back}
	a.render(c, http.StatusOK, "confirm", pageData{Title: d.button + " · " + userTitle(u), Nav: "users",
		Data: struct {
			Confirm confirmData
			User    *models.User
		}{cd, u}})
}

// NotFound answers an unknown path under /admin/ with the admin layout's
// 404: with the menu for a logged-in admin, without it for anybody else
// (who learns nothing more than that the page does not exist).
func (a *Admin) NotFound(c *gin.Context) {
	adm, sess, err := a.currentAdmin(c)
	if err != nil {
		a.unavailable(c, err)
		return
	}
	if adm != nil {
		tok, _ := sess.Values[csrfKey].(string)
		c.Set(ctxAdmin, adm)
		c.Set(ctxCSRF, tok)
		a.fail(c, http.StatusNotFound, msgNotFound)
		return
	}
	a.fail(c, http.StatusNotFound, message{Title: msgNotFound.Title, Text: msgNotFound.Text,
		BackURL: "/admin/login", BackLabel: "管理员登录"})
}
