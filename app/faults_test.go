package app

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"wxlogin/testdb"
	"wxlogin/wechatsim"
)

func TestPostgresDownThenUpWithoutRestart(t *testing.T) {
	cl := testdb.PrivateCluster(t)
	e := newEnv(t)
	e.DBURL = cl.URL
	in := e.start("a", map[string]string{"DB_MAX_CONNS": "4"}, Options{})
	b := newBrowser(t)
	if p := e.login(b, in, "zhangsan"); p.Status != http.StatusFound {
		t.Fatalf("login before the outage: %d", p.Status)
	}

	cl.Stop()
	outage := []struct {
		path string
		want int
	}{
		{"/healthz", http.StatusOK},
		{"/readyz", http.StatusServiceUnavailable},
		{"/profile", http.StatusServiceUnavailable},
		{"/wechat/entry?next=/profile", http.StatusServiceUnavailable},
		{"/", http.StatusServiceUnavailable}, // it has a session cookie to look up
	}
	for _, tt := range outage {
		p := b.get(in.URL + tt.path)
		if p.Status != tt.want {
			t.Errorf("during the outage %s: %d, want %d", tt.path, p.Status, tt.want)
		}
		if tt.want == http.StatusServiceUnavailable && tt.path != "/readyz" && !strings.Contains(p.Body, "重试") {
			t.Errorf("%s: 503 page without a retry link", tt.path)
		}
	}

	cl.Start()
	if p := b.get(in.URL + "/readyz"); p.Status != http.StatusOK {
		t.Fatalf("/readyz after Postgres returned: %d", p.Status)
	}
	if p := b.get(in.URL + "/profile"); p.Status != http.StatusOK {
		t.Fatalf("old session after Postgres returned: %d", p.Status)
	}
	if p := e.login(newBrowser(t), in, "emoji"); p.Status != http.StatusFound || p.Location != "/profile" {
		t.Fatalf("new login after Postgres returned: %d %q", p.Status, p.Location)
	}
}

func TestWeChatFaultTable(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", map[string]string{"WECHAT_TIMEOUT": "300ms"}, Options{})
	tests := []struct {
		name      string
		endpoint  string
		fault     wechatsim.Fault
		status    int
		page      string
		exchanges int
		userinfo  int
	}{
		{"exchange -1 system busy", "access_token", wechatsim.Fault{ErrCode: -1}, 503, "微信繁忙", 1, 0},
		{"exchange HTTP 502", "access_token", wechatsim.Fault{HTTPStatus: 502}, 503, "微信繁忙", 1, 0},
		{"exchange timeout", "access_token", wechatsim.Fault{Hang: true}, 503, "微信繁忙", 1, 0},
		{"exchange bad JSON", "access_token", wechatsim.Fault{BadJSON: true}, 503, "微信繁忙", 1, 0},
		{"exchange 40029 on a fresh code", "access_token", wechatsim.Fault{ErrCode: 40029}, 302, "", 1, 0},
		{"userinfo -1 retried then busy", "userinfo", wechatsim.Fault{ErrCode: -1}, 503, "微信繁忙", 1, 3},
		{"userinfo 502 retried then busy", "userinfo", wechatsim.Fault{HTTPStatus: 502}, 503, "微信繁忙", 1, 3},
		{"userinfo timeout retried then busy", "userinfo", wechatsim.Fault{Hang: true}, 503, "微信繁忙", 1, 3},
		{"userinfo -1 once, recovered by a retry", "userinfo", wechatsim.Fault{ErrCode: -1, Count: 1}, 302, "", 1, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.Sim.Reset()
			e.Sim.SetFault(tt.endpoint, tt.fault)
			defer e.Sim.ClearFaults()
			b := newBrowser(t)
			cb := e.authorize(b.entry(in, "/profile"), "zhangsan", "allow")
			// The browser's own timeout is the latency bound: every fault
			// must end in a page well before it.
			ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
			defer cancel()
			p, err := b.tryGet(ctx, cb)
			if err != nil {
				t.Fatalf("callback did not answer: %v", err)
			}
			if p.Status != tt.status {
				t.Fatalf("status %d, want %d", p.Status, tt.status)
			}
			if tt.page != "" && (!strings.Contains(p.Body, tt.page) || !strings.Contains(p.Body, "/wechat/entry")) {
				t.Fatalf("page lacks %q and a retry link", tt.page)
			}
			if strings.Contains(p.Body, "rid:") || strings.Contains(p.Body, "system error") {
				t.Fatal("WeChat's errmsg reached the page")
			}
			if n := e.Sim.ExchangeCount(codeOf(t, cb)); n != tt.exchanges {
				t.Fatalf("code exchanged %d times, want %d (an exchange is never re-sent)", n, tt.exchanges)
			}
			if n := e.Sim.Stats().UserInfoCalls; n != tt.userinfo {
				t.Fatalf("%d userinfo calls, want %d", n, tt.userinfo)
			}
		})
	}
}

func TestBreakerSparesCodesDuringAnOutage(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	e.Sim.SetFault("access_token", wechatsim.Fault{HTTPStatus: 502})
	for range 20 { // the default threshold
		b := newBrowser(t)
		if p := e.login(b, in, "zhangsan"); p.Status != http.StatusServiceUnavailable {
			t.Fatalf("during the outage: %d", p.Status)
		}
	}
	before := e.Sim.Stats().Exchanges
	b := newBrowser(t)
	cb := e.authorize(b.entry(in, "/profile"), "zhangsan", "allow")
	if p := b.get(cb); p.Status != http.StatusServiceUnavailable || !strings.Contains(p.Body, "微信繁忙") {
		t.Fatalf("with the circuit open: %d", p.Status)
	}
	if after := e.Sim.Stats().Exchanges; after != before {
		t.Fatalf("the open circuit still called WeChat (%d calls)", after-before)
	}
	if n := e.Sim.ExchangeCount(codeOf(t, cb)); n != 0 {
		t.Fatal("the code was spent while the circuit was open")
	}
}
