package wechat_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"wxlogin/wechat"
	"wxlogin/wechatsim"
)

// faultCases are the temporary failures WeChat produces; each must be
// recognised by IsTemporary.
var faultCases = []struct {
	name    string
	fault   wechatsim.Fault
	apiCode int  // non-zero: expect *APIError with this code
	timeout bool // expect UnavailableError.Timeout
	status  int  // expect UnavailableError.Status
}{
	{name: "system busy -1", fault: wechatsim.Fault{ErrCode: -1}, apiCode: -1},
	{name: "http 502", fault: wechatsim.Fault{HTTPStatus: 502}, status: 502},
	{name: "http 503", fault: wechatsim.Fault{HTTPStatus: 503}, status: 503},
	{name: "hang until timeout", fault: wechatsim.Fault{Hang: true}, timeout: true},
	{name: "bad json", fault: wechatsim.Fault{BadJSON: true}, status: 200},
}

func checkFaultError(t *testing.T, err error, endpoint string, apiCode int, timeout bool, status int) {
	t.Helper()
	if !wechat.IsTemporary(err) {
		t.Fatalf("IsTemporary(%v) = false", err)
	}
	if apiCode != 0 {
		wantCode(t, err, apiCode)
		return
	}
	var ue *wechat.UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("error = %#v, want *UnavailableError", err)
	}
	if ue.Endpoint != endpoint || ue.Timeout != timeout || (status != 0 && ue.Status != status) {
		t.Fatalf("UnavailableError = %+v (%v)", ue, err)
	}
}

// userinfo is idempotent: temporary failures are retried, all attempts are
// spent, and the last failure is returned.
func TestUserInfoRetriesTemporaryFailures(t *testing.T) {
	for _, tc := range faultCases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *wechat.Config) { c.Timeout = 600 * time.Millisecond })
			tok, err := e.c.ExchangeCode(context.Background(), e.code(t, "zhangsan", "snsapi_userinfo"))
			if err != nil {
				t.Fatal(err)
			}
			e.sim.SetFault("userinfo", tc.fault)
			_, err = e.c.UserInfo(context.Background(), tok.AccessToken, tok.OpenID, "zh_CN")
			checkFaultError(t, err, "userinfo", tc.apiCode, tc.timeout, tc.status)
			if n := e.sim.Stats().UserInfoCalls; n != wechat.DefaultUserInfoAttempts {
				t.Fatalf("userinfo calls = %d, want %d", n, wechat.DefaultUserInfoAttempts)
			}
		})
	}
}

// A failure that clears within the attempt budget is invisible to the caller.
func TestUserInfoRecoversWithinAttempts(t *testing.T) {
	for _, tc := range faultCases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *wechat.Config) { c.Timeout = 600 * time.Millisecond; c.UserInfoAttempts = 4 })
			tok, err := e.c.ExchangeCode(context.Background(), e.code(t, "emoji", "snsapi_userinfo"))
			if err != nil {
				t.Fatal(err)
			}
			f := tc.fault
			f.Count = 3
			e.sim.SetFault("userinfo", f)
			ui, err := e.c.UserInfo(context.Background(), tok.AccessToken, tok.OpenID, "zh_CN")
			if err != nil {
				t.Fatal(err)
			}
			if ui.Nickname != "小明🐱🌸✨" {
				t.Fatalf("nickname = %q", ui.Nickname)
			}
			if n := e.sim.Stats().UserInfoCalls; n != 4 {
				t.Fatalf("userinfo calls = %d, want 4", n)
			}
		})
	}
}

// The exchange is never retried: one attempt whatever the failure, so the
// simulator sees the code exactly once.
func TestExchangeIsSingleAttempt(t *testing.T) {
	for _, tc := range faultCases {
		t.Run(tc.name, func(t *testing.T) {
			// Long enough for a loaded machine under the race detector;
			// only the hang case waits it out.
			e := newEnv(t, func(c *wechat.Config) { c.Timeout = time.Second })
			code := e.code(t, "zhangsan", "snsapi_userinfo")
			e.sim.SetFault("access_token", tc.fault)
			tok, err := e.c.ExchangeCode(context.Background(), code)
			if tok != nil {
				t.Fatalf("token %v with error", tok)
			}
			checkFaultError(t, err, "access_token", tc.apiCode, tc.timeout, tc.status)
			if n := e.sim.ExchangeCount(code); n != 1 {
				t.Fatalf("ExchangeCount = %d, want 1", n)
			}
			if st := e.sim.Stats(); st.Exchanges != 1 || st.CodesExchangedMoreThanOnce != 0 {
				t.Fatalf("stats = %+v", st)
			}
		})
	}
}

// A fault injected instead of processing leaves the code unused; with
// ConsumeCode the code is gone although the answer was lost.
func TestExchangeFaultConsumeCode(t *testing.T) {
	for _, consume := range []bool{false, true} {
		e := newEnv(t, nil)
		code := e.code(t, "zhangsan", "snsapi_base")
		e.sim.SetFault("access_token", wechatsim.Fault{HTTPStatus: 502, Count: 1, ConsumeCode: consume})
		if _, err := e.c.ExchangeCode(context.Background(), code); err == nil {
			t.Fatal("fault not injected")
		}
		_, err := e.c.ExchangeCode(context.Background(), code)
		if consume {
			wantCode(t, err, wechat.ErrCodeCodeUsed)
		} else if err != nil {
			t.Fatalf("code unusable after a non-consuming fault: %v", err)
		}
		if n := e.sim.ExchangeCount(code); n != 2 {
			t.Fatalf("ExchangeCount = %d, want 2", n)
		}
	}
}

// UserInfo stops when the caller's context ends, also between attempts.
func TestUserInfoRespectsContext(t *testing.T) {
	e := newEnv(t, func(c *wechat.Config) {
		c.Timeout = 5 * time.Second
		c.UserInfoAttempts = 10
		c.Backoff = time.Second
	})
	tok, err := e.c.ExchangeCode(context.Background(), e.code(t, "zhangsan", "snsapi_userinfo"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []wechatsim.Fault{{Hang: true}, {ErrCode: -1}} {
		e.sim.SetFault("userinfo", f)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		start := time.Now()
		_, err = e.c.UserInfo(ctx, tok.AccessToken, tok.OpenID, "zh_CN")
		cancel()
		if err == nil || !wechat.IsTemporary(err) {
			t.Fatalf("err = %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("UserInfo took %v after its context ended", d)
		}
	}
}

// Latency below the timeout is only latency.
func TestLatency(t *testing.T) {
	e := newEnv(t, func(c *wechat.Config) { c.Timeout = 500 * time.Millisecond })
	e.sim.SetLatency(50 * time.Millisecond)
	start := time.Now()
	if _, err := e.c.ExchangeCode(context.Background(), e.code(t, "zhangsan", "snsapi_base")); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("latency not applied: %v", d)
	}
	e.sim.SetLatency(time.Second)
	code := e.code(t, "zhangsan", "snsapi_base")
	_, err := wechat.New(withTimeout(e.cfg, 50*time.Millisecond)).ExchangeCode(context.Background(), code)
	checkFaultError(t, err, "access_token", 0, true, 0)
}

func withTimeout(cfg wechat.Config, d time.Duration) wechat.Config {
	cfg.Timeout = d
	return cfg
}
