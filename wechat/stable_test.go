package wechat_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"wxlogin/wechat"
	"wxlogin/wechatsim"
)

// stable_token's rules as the simulator plays them, seen through the client:
// normal mode returns the same token until five minutes before expiry, then
// a new one while the old lives five more minutes; force_refresh kills the
// old at once, 30 s apart and 20 a day.
func TestStableTokenRules(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	t1, err := e.c.StableToken(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if t1.ExpiresIn != 7200 || len(t1.AccessToken) < 32 {
		t.Fatalf("first token: %v", t1)
	}
	again, _ := e.c.StableToken(ctx, false)
	if again.AccessToken != t1.AccessToken {
		t.Fatal("normal mode returned a new token while the old one is valid")
	}
	e.clock.Advance(7200*time.Second - 4*time.Minute)
	t2, err := e.c.StableToken(ctx, false)
	if err != nil || t2.AccessToken == t1.AccessToken || t2.ExpiresIn != 7200 {
		t.Fatalf("inside the last five minutes: %v, %v, want a new token", t2, err)
	}
	if err := e.c.DeleteMenu(ctx, t1.AccessToken); err != nil {
		t.Fatalf("the old token should overlap for its last minutes: %v", err)
	}
	e.clock.Advance(5 * time.Minute)
	wantCode(t, e.c.DeleteMenu(ctx, t1.AccessToken), 42001)

	t3, err := e.c.StableToken(ctx, true)
	if err != nil || t3.AccessToken == t2.AccessToken {
		t.Fatalf("force: %v, %v", t3, err)
	}
	wantCode(t, e.c.DeleteMenu(ctx, t2.AccessToken), 40001)
	_, err = e.c.StableToken(ctx, true)
	wantCode(t, err, wechat.ErrCodeTooFrequent)
	for i := 1; i < 20; i++ {
		e.clock.Advance(31 * time.Second)
		if _, err := e.c.StableToken(ctx, true); err != nil {
			t.Fatalf("force %d: %v", i+1, err)
		}
	}
	e.clock.Advance(31 * time.Second)
	_, err = e.c.StableToken(ctx, true)
	wantCode(t, err, wechat.ErrCodeDailyQuota)

	_, err = wechat.New(wechat.Config{AppID: e.cfg.AppID, Secret: "wrong-secret-wrong-secret-00000000", APIURL: e.srv.URL}).StableToken(ctx, false)
	wantCode(t, err, wechat.ErrCodeInvalidSecret)
	if strings.Contains(err.Error(), "wrong-secret") {
		t.Fatal("the secret is in the error")
	}
}

// A dead token gets 40001 from every cgi-bin API, and the token never
// appears in an error, even a transport one.
func TestCallAPIScrubsTheToken(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tok, err := e.c.StableToken(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	e.sim.KillToken(wechatsim.KillStale)
	for _, call := range []func() error{
		func() error { return e.c.DeleteMenu(ctx, tok.AccessToken) },
		func() error { _, err := e.c.CurrentMenu(ctx, tok.AccessToken); return err },
		func() error {
			return e.c.CreateMenu(ctx, tok.AccessToken, wechat.Menu{Buttons: []wechat.Button{{Type: "click", Name: "a", Key: "k"}}})
		},
	} {
		err := call()
		if !wechat.IsTokenInvalid(err) {
			t.Fatalf("dead token: %v, want a token error", err)
		}
	}
	dead := wechat.New(wechat.Config{APIURL: "http://127.0.0.1:1", BreakerThreshold: -1})
	err = dead.DeleteMenu(ctx, tok.AccessToken)
	if err == nil || strings.Contains(err.Error(), tok.AccessToken) || strings.Contains(fmt.Sprintf("%+v", err), tok.AccessToken) {
		t.Fatalf("transport error %q carries the token", err)
	}
	if strings.Contains(fmt.Sprint(*tok), tok.AccessToken) {
		t.Fatal("AccessToken prints its value")
	}
	if err := e.c.CallAPI(ctx, tok.AccessToken, "/sns/userinfo", nil, nil, nil); err == nil {
		t.Fatal("CallAPI accepted a path outside /cgi-bin/")
	}
}

// A valid menu is published and read back equal, CJK, emoji and "&" included.
func TestMenuRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tok, err := e.c.StableToken(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	menu := wechat.Menu{Buttons: []wechat.Button{
		{Type: "view", Name: "我的🙂", URL: "https://example.com/wechat/entry?next=/profile&scope=snsapi_base"},
		{Name: "更多", SubButtons: []wechat.Button{
			{Type: "click", Name: "A&B <客服>", Key: "CONTACT"},
			{Type: "miniprogram", Name: "小程序", URL: "https://example.com/", AppID: "wxmini", PagePath: "pages/index"},
		}},
	}}
	if err := e.c.CreateMenu(ctx, tok.AccessToken, menu); err != nil {
		t.Fatal(err)
	}
	cur, err := e.c.CurrentMenu(ctx, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if got := cur.Menu(); cur.IsMenuOpen != 1 || !reflect.DeepEqual(got, menu) {
		t.Fatalf("read back %+v, want %+v", got, menu)
	}
	if err := e.c.DeleteMenu(ctx, tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	cur, err = e.c.CurrentMenu(ctx, tok.AccessToken)
	if err != nil || cur.IsMenuOpen != 0 || len(cur.Menu().Buttons) != 0 {
		t.Fatalf("after delete: %+v, %v", cur, err)
	}
}
