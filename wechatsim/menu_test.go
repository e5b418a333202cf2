package wechatsim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"wxlogin/wechatsim"
)

func (e *env) stableToken(t *testing.T, force bool) (string, int) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"grant_type": "client_credential", "appid": e.sim.AppID(), "secret": e.sim.Secret(), "force_refresh": force})
	req, _ := http.NewRequest(http.MethodPost, e.base+"/cgi-bin/stable_token", bytes.NewReader(body))
	_, b := do(t, req)
	var m map[string]any
	_ = json.Unmarshal([]byte(b), &m)
	tok, _ := m["access_token"].(string)
	return tok, errcode(m)
}

func (e *env) createMenu(t *testing.T, token, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.base+"/cgi-bin/menu/create?access_token="+token, strings.NewReader(body))
	_, b := do(t, req)
	var m map[string]any
	if err := json.Unmarshal([]byte(b), &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return errcode(m)
}

// The menu limits with WeChat's errcodes, counted in bytes.
func TestMenuCreateValidation(t *testing.T) {
	e := newEnv(t, nil)
	tok, code := e.stableToken(t, false)
	if code != 0 {
		t.Fatal(code)
	}
	view := func(name, url string) string {
		return `{"type":"view","name":"` + name + `","url":"` + url + `"}`
	}
	five := strings.Repeat(view("子", "https://a.example/")+",", 5)
	cases := []struct {
		name, body string
		want       int
	}{
		{"ok", `{"button":[` + view("我的", "https://a.example/p") + `]}`, 0},
		{"no buttons", `{"button":[]}`, 40016},
		{"four buttons", `{"button":[` + strings.Repeat(view("a", "https://a.example/")+",", 3) + view("a", "https://a.example/") + `]}`, 40016},
		{"bad type", `{"button":[{"type":"bogus","name":"a"}]}`, 40017},
		{"name 17 bytes", `{"button":[` + view(strings.Repeat("a", 17), "https://a.example/") + `]}`, 40018},
		{"name 6 CJK = 18 bytes", `{"button":[` + view("一二三四五六", "https://a.example/") + `]}`, 40018},
		{"name 4 emoji = 16 bytes", `{"button":[` + view("🙂🙂🙂🙂", "https://a.example/") + `]}`, 0},
		{"name 5 CJK = 15 bytes", `{"button":[` + view("一二三四五", "https://a.example/") + `]}`, 0},
		{"key 129 bytes", `{"button":[{"type":"click","name":"a","key":"` + strings.Repeat("k", 129) + `"}]}`, 40019},
		{"url 1025 bytes", `{"button":[` + view("a", "https://a.example/"+strings.Repeat("x", 1025-18)) + `]}`, 40020},
		{"url not http", `{"button":[` + view("a", "ftp://a.example/") + `]}`, 40055},
		{"six subs", `{"button":[{"name":"m","sub_button":[` + five + view("子", "https://a.example/") + `]}]}`, 40023},
		{"five subs", `{"button":[{"name":"m","sub_button":[` + strings.TrimSuffix(five, ",") + `]}]}`, 0},
		{"sub name 61 bytes", `{"button":[{"name":"m","sub_button":[` + view(strings.Repeat("a", 61), "https://a.example/") + `]}]}`, 40025},
		{"sub name 20 CJK = 60 bytes", `{"button":[{"name":"m","sub_button":[` + view(strings.Repeat("中", 20), "https://a.example/") + `]}]}`, 0},
		{"sub bad type", `{"button":[{"name":"m","sub_button":[{"type":"x","name":"a"}]}]}`, 40024},
		{"sub key", `{"button":[{"name":"m","sub_button":[{"type":"click","name":"a","key":"` + strings.Repeat("k", 129) + `"}]}]}`, 40026},
		{"sub url", `{"button":[{"name":"m","sub_button":[` + view("a", "https://a.example/"+strings.Repeat("x", 1100)) + `]}]}`, 40027},
		{"sub domain", `{"button":[{"name":"m","sub_button":[` + view("a", "javascript:alert(1)") + `]}]}`, 40054},
		{"miniprogram without appid", `{"button":[{"type":"miniprogram","name":"a","url":"https://a.example/","pagepath":"p"}]}`, 47001},
		{"not json", `{"button":`, 47001},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := e.createMenu(t, tok, c.body); got != c.want {
				t.Fatalf("errcode %d, want %d", got, c.want)
			}
		})
	}
	if got := e.createMenu(t, "not-a-token", `{"button":[`+view("a", "https://a.example/")+`]}`); got != 40001 {
		t.Fatalf("unknown token: %d, want 40001", got)
	}
}

// The chat window shows the published menu; a view button is a form that
// pushes VIEW (the push page's tap handler) and then opens its URL.
func TestChatWindowShowsTheMenu(t *testing.T) {
	e := newEnv(t, nil)
	_, body := get(t, e.base+"/chat")
	if !strings.Contains(body, "还没有发布菜单") {
		t.Fatalf("no menu: %s", body)
	}
	e.sim.SetMenu([]wechatsim.MenuButton{
		{Type: "view", Name: "我的资料", URL: "https://app.example/wechat/entry?next=/profile"},
		{Name: "更多", SubButtons: []wechatsim.MenuButton{{Type: "click", Name: "客服<>", Key: "K"}}},
	})
	resp, body := get(t, e.base+"/chat")
	if resp.StatusCode != 200 || !strings.Contains(body, `name="url" value="https://app.example/wechat/entry?next=/profile"`) ||
		!strings.Contains(body, `/push/tap"`) || !strings.Contains(body, `id="chat-follow"`) ||
		!strings.Contains(body, "客服&lt;&gt;") || !strings.Contains(body, "chat-cols-2") {
		t.Fatalf("chat window: %d %s", resp.StatusCode, body)
	}
}

// cgi-bin/token: each call kills the previous token five minutes later.
func TestCgiTokenKillsThePreviousAfterFiveMinutes(t *testing.T) {
	e := newEnv(t, nil)
	first := e.api(t, "/cgi-bin/token?grant_type=client_credential&appid="+e.sim.AppID()+"&secret="+e.sim.Secret())
	second := e.api(t, "/cgi-bin/token?grant_type=client_credential&appid="+e.sim.AppID()+"&secret="+e.sim.Secret())
	t1, t2 := first["access_token"].(string), second["access_token"].(string)
	if t1 == "" || t1 == t2 {
		t.Fatal("cgi-bin/token did not mint a new token")
	}
	if m := e.api(t, "/cgi-bin/menu/delete?access_token="+t1); errcode(m) != 0 {
		t.Fatalf("the previous token died at once: %v", m)
	}
	e.clock.Advance(5*60*1e9 + 1)
	if m := e.api(t, "/cgi-bin/menu/delete?access_token="+t1); errcode(m) != 42001 && errcode(m) != 40001 {
		t.Fatalf("the previous token lives on: %v", m)
	}
	if m := e.api(t, "/cgi-bin/menu/delete?access_token="+t2); errcode(m) != 0 {
		t.Fatalf("the latest token died: %v", m)
	}
	if st := e.sim.TokenStats(); st.Token != 2 {
		t.Fatalf("%+v", st)
	}
}
