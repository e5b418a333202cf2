package app

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"wxlogin/admin"
	"wxlogin/dbsession"
	"wxlogin/qrlogin"
)

// A computer login appears in the admin login log with the approving phone
// session, and the user page's "end all sessions" logs the computer out.
func TestAdminSeesAndEndsComputerLogins(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	pc, phone := newComputer(t), newBrowser(t)
	ticket := showCode(t, pc, w.in)
	csrf := w.e.scanAndLogIn(phone, w.in, "zhangsan", ticket)
	decide(t, phone, w.in, ticket, csrf, "confirm")
	if _, st := poll(t, pc, w.in, ticket); st != qrlogin.Confirmed || !profileOK(t, pc, w.in) {
		t.Fatalf("computer login: %q", st)
	}

	adm, token := w.loggedInAdmin()
	p := adm.get(w.in.URL + "/admin/logins")
	phoneSession := dbsession.HashID(mustCookieID(t, phone, w.in))[:12]
	for _, want := range []string{`id="qr-logins"`, "已登录电脑", "Chrome 120 / Windows", phoneSession, "张三"} {
		if !strings.Contains(p.Body, want) {
			t.Fatalf("login log lacks %q", want)
		}
	}

	uid := w.userID("zhangsan")
	userPage := w.in.URL + "/admin/users/" + strconv.FormatInt(uid, 10)
	if p := postForm(adm, userPage+"/end-sessions", url.Values{"csrf": {token}, "confirm": {"1"}}, nil); p.Status != http.StatusSeeOther {
		t.Fatalf("end sessions: %d", p.Status)
	}
	if profileOK(t, pc, w.in) {
		t.Fatal("the computer is still logged in after the admin ended the user's sessions")
	}
}

// mustCookieID is the session id inside b's signed session cookie.
func mustCookieID(t *testing.T, b *browser, in *instance) string {
	t.Helper()
	id, ok := cookieID(t, testSessionKey, cookieName, b.jarCookie(in))
	if !ok {
		t.Fatal("no signed session cookie")
	}
	return id
}
