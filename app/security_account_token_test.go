package app

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"wxlogin/admin"
	"wxlogin/tokencenter"
	"wxlogin/wechatsim"
)

// The account's access token (every one WeChat handed out, forced or not),
// the app secret and the TOKEN_API_KEYS keys never appear in the logs, in
// any admin page or header, in the audit log, in /metrics or in an answer
// of /api/wechat/access-token other than the one that hands the token to a
// good key: checked over fetches, forced refreshes (automatic and from the
// admin page), a kill inside 30 s, menu publish/read/delete and 40164.
func TestAccountTokenNeverLeaks(t *testing.T) {
	e := newEnv(t)
	tap, tapSrv := newWiretap(t, e.Sim.Handler())
	// No hold-offs, so one test walks every failure without waiting.
	w := newTokenWorld(t, e, map[string]string{"WECHAT_API_URL": tapSrv.URL, "TOKEN_API_KEYS": apiKey1}, func(c *tokencenter.Config) {
		c.MaxHoldOff, c.DeadRecheck = time.Nanosecond, time.Nanosecond
	})
	adm, csrf := w.loggedInAdmin()
	var answers []page
	keep := func(p page) page { answers = append(answers, p); return p }
	menu := func(action string, confirm bool) page {
		f := menuForm(csrf, action, map[string][6]string{"b0": {"我的", "view", "https://example.com/wechat/entry?next=/profile"}})
		if confirm {
			f.Set("confirm", "1")
			f.Set("confirm_delete", "1")
		}
		return keep(postForm(adm, w.in.URL+"/admin/menu", f, nil))
	}
	api := func(key string) page { return apiGet(t, w.in.URL+"/api/wechat/access-token", "Bearer "+key) }

	keep(adm.get(w.in.URL + "/admin/account"))
	if p := menu("publish", true); !strings.Contains(p.Body, "菜单已发布") {
		t.Fatalf("publish: %d", p.Status)
	}
	menu("load", false)
	w.e.Sim.KillToken(wechatsim.KillStale) // the next publish forces
	if p := menu("publish", true); !strings.Contains(p.Body, "菜单已发布") {
		t.Fatalf("publish after a kill: %s", statusRe.FindString(p.Body))
	}
	w.e.Sim.KillToken(wechatsim.KillStale) // inside 30 s: fails clearly
	if p := menu("publish", true); !strings.Contains(p.Body, "30 秒内") {
		t.Fatalf("publish after a second kill: %s", statusRe.FindString(p.Body))
	}
	keep(api(apiKey1)) // 503 while blocked
	keep(adm.get(w.in.URL + "/admin/account"))
	keep(postForm(adm, w.in.URL+"/admin/account/force-refresh", url.Values{"csrf": {csrf}, "confirm": {"1"}}, nil))
	w.e.Sim.KillToken(wechatsim.KillForce)
	w.e.Sim.SetFault("stable_token", wechatsim.Fault{ErrCode: 40164})
	menu("delete", true)
	keep(adm.get(w.in.URL + "/admin/account"))
	keep(api(apiKey1))
	before := w.e.Sim.TokenStats()
	w.e.Sim.SetFault("stable_token", wechatsim.Fault{HTTPStatus: 502})
	keep(api(apiKey1))
	keep(api(apiKey1[:len(apiKey1)-1] + "x"))
	keep(adm.get(w.in.URL + "/admin/account"))
	keep(adm.get(w.in.URL + "/admin/audit"))
	keep(newBrowser(t).get(w.in.URL + "/metrics"))
	w.e.Sim.ClearFaults()
	// The one answer that carries the token is the good key's, once WeChat is back.
	if p := api(apiKey1); p.Status != http.StatusOK {
		t.Fatalf("after the faults: %d %s", p.Status, p.Body)
	}

	var audit []string
	if err := w.db.Gorm.Raw("SELECT action || ' ' || target || ' ' || detail FROM audit_log").Scan(&audit).Error; err != nil {
		t.Fatal(err)
	}
	if len(audit) < 6 {
		t.Fatalf("only %d audit entries", len(audit))
	}
	secrets := append(tap.all(), w.e.Sim.Secret(), apiKey1, testTokenKey)
	if before.StableForced != 1 || before.StableNormal < 3 || len(tap.all()) < 2 {
		t.Fatalf("the tap saw %d values, %+v: the flows did not run", len(tap.all()), before)
	}
	var pages strings.Builder
	for _, p := range answers {
		pages.WriteString(p.Body)
		for k, vs := range p.Header {
			pages.WriteString(k + ": " + strings.Join(vs, ", ") + "\n")
		}
	}
	logs := w.e.Logs.String()
	if !strings.Contains(logs, "forcing a refresh") || !strings.Contains(logs, "40164") {
		t.Fatal("the logs lack the token center's lines: they are not being captured")
	}
	all := map[string]string{"logs": logs, "pages": pages.String(), "audit log": strings.Join(audit, "\n")}
	for _, s := range secrets {
		for where, text := range all {
			for _, form := range []string{s, url.QueryEscape(s)} {
				if i := strings.Index(text, form); i >= 0 {
					t.Errorf("a secret is in the %s: …%s…", where, excerpt(text, i))
				}
			}
		}
	}
}

// newTokenWorld is newAdminWorld on env e with the token center tuned.
func newTokenWorld(t *testing.T, e *env, vars map[string]string, tune func(*tokencenter.Config)) *adminWorld {
	t.Helper()
	clk := newClock()
	in := e.start("a", vars, Options{Now: clk.Now, Tokens: tune, Admin: func(d *admin.Deps) {
		d.Sleep = func(context.Context, time.Duration) {}
	}})
	w := &adminWorld{t: t, e: e, in: in, clk: clk, db: in.App.DB, count: &queryCounter{}}
	w.createAdmin(adminName, adminPassword)
	return w
}
