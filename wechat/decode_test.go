package wechat_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"wxlogin/wechat"
)

// fixedServer answers every request with status, Content-Type (nil: none at
// all) and body.
func fixedServer(t *testing.T, status int, contentType *string, body string) *wechat.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if contentType == nil {
			w.Header()["Content-Type"] = nil // suppress sniffing: no header at all
		} else {
			w.Header().Set("Content-Type", *contentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return wechat.New(wechat.Config{AppID: "wxapp", Secret: "s3cr3t-value", APIURL: srv.URL})
}

func ptr(s string) *string { return &s }

const tokenJSON = `{"access_token":"AT","expires_in":7200,"refresh_token":"RT","openid":"oOPENID","scope":"snsapi_userinfo","unionid":"oUNION"}`

// WeChat's Content-Type varies and may lie: the body is always UTF-8 JSON.
func TestDecodeIgnoresContentType(t *testing.T) {
	for _, ct := range []*string{
		ptr("application/json; encoding=utf-8"),
		ptr("application/json"),
		ptr("text/plain"),
		ptr("text/html; charset=gbk"),
		ptr("application/octet-stream"),
		nil,
	} {
		name := "none"
		if ct != nil {
			name = *ct
		}
		t.Run(name, func(t *testing.T) {
			body := `{"openid":"oOPENID","nickname":"小明🐱🌸✨","sex":2,"province":"广东","city":"<b>City</b>","country":"中国","headimgurl":"","privilege":["chinaunicom"]}`
			ui, err := fixedServer(t, 200, ct, body).UserInfo(context.Background(), "AT", "oOPENID", "zh_CN")
			if err != nil {
				t.Fatal(err)
			}
			if ui.Nickname != "小明🐱🌸✨" || ui.City != "<b>City</b>" || ui.Sex != 2 || len(ui.Privilege) != 1 {
				t.Fatalf("userinfo = %+v", ui)
			}
			tok, err := fixedServer(t, 200, ct, "\xEF\xBB\xBF"+tokenJSON).ExchangeCode(context.Background(), "CODE")
			if err != nil {
				t.Fatal(err)
			}
			if tok.AccessToken != "AT" || tok.UnionID != "oUNION" || tok.ExpiresIn != 7200 {
				t.Fatalf("token = %+v", tok)
			}
		})
	}
}

func TestDecodeAnswers(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		apiCode int    // expect *APIError
		kind    string // expect *UnavailableError whose text ends in kind
	}{
		{name: "success", status: 200, body: tokenJSON},
		{name: "success with errcode 0", status: 200, body: `{"errcode":0,"errmsg":"ok",` + tokenJSON[1:]},
		{name: "errcode", status: 200, body: `{"errcode":40029,"errmsg":"invalid code, rid: 6543a1b2-1c2d3e4f-5a6b7c8d"}`, apiCode: 40029},
		{name: "old hints errmsg", status: 200, body: `{"errcode":40163,"errmsg":"code been used, hints: [ req_id: Gd2eXa0ce-Q ]"}`, apiCode: 40163},
		{name: "quoted errcode", status: 200, body: `{"errcode":"42003","errmsg":"code expired"}`, apiCode: 42003},
		{name: "errcode -1", status: 200, body: `{"errcode":-1,"errmsg":"system error"}`, apiCode: -1},
		{name: "errcode without errmsg", status: 200, body: `{"errcode":40125}`, apiCode: 40125},
		{name: "empty object", status: 200, body: `{}`, kind: "bad json"},
		{name: "empty body", status: 200, body: ``, kind: "bad json"},
		{name: "html", status: 200, body: `<html>busy</html>`, kind: "bad json"},
		{name: "truncated", status: 200, body: `{"access_token":"90_`, kind: "bad json"},
		{name: "array", status: 200, body: `[1,2]`, kind: "bad json"},
		{name: "wrong type", status: 200, body: `{"access_token":"AT","openid":"o","expires_in":"7200"}`, kind: "bad json"},
		{name: "non-integer errcode", status: 200, body: `{"errcode":"busy"}`, kind: "bad json"},
		{name: "status 502", status: 502, body: `<html>502 Bad Gateway</html>`, kind: "http status 502"},
		{name: "status 500 with JSON", status: 500, body: tokenJSON, kind: "http status 500"},
		{name: "redirect", status: 302, body: ``, kind: "http status 302"},
		{name: "too large", status: 200, body: `{"access_token":"` + strings.Repeat("a", 1<<20) + `"}`, kind: "response too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fixedServer(t, tt.status, ptr("application/json"), tt.body)
			tok, err := c.ExchangeCode(context.Background(), "CODE")
			switch {
			case tt.apiCode != 0:
				wantCode(t, err, tt.apiCode)
			case tt.kind != "":
				var ue *wechat.UnavailableError
				if !errors.As(err, &ue) || !strings.HasSuffix(err.Error(), ": "+tt.kind) || ue.Endpoint != "access_token" {
					t.Fatalf("error = %v, want UnavailableError %q", err, tt.kind)
				}
			default:
				if err != nil || tok.AccessToken != "AT" {
					t.Fatalf("tok=%v err=%v", tok, err)
				}
			}
		})
	}
}

// /sns/auth answers only an errcode; its absence is not "valid".
func TestCheckTokenNeedsErrcode(t *testing.T) {
	if err := fixedServer(t, 200, nil, `{"errcode":0,"errmsg":"ok"}`).CheckToken(context.Background(), "AT", "o"); err != nil {
		t.Fatal(err)
	}
	err := fixedServer(t, 200, nil, `{}`).CheckToken(context.Background(), "AT", "o")
	var ue *wechat.UnavailableError
	if !errors.As(err, &ue) {
		t.Fatalf("err = %v", err)
	}
}

// The simulator rotates its Content-Type; many calls in a row must all
// decode.
func TestSimulatorContentTypeRotation(t *testing.T) {
	e := newEnv(t, nil)
	tok, err := e.c.ExchangeCode(context.Background(), e.code(t, "emoji", "snsapi_userinfo"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		if err := e.c.CheckToken(context.Background(), tok.AccessToken, tok.OpenID); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if _, err := e.c.UserInfo(context.Background(), tok.AccessToken, tok.OpenID, "zh_CN"); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		_, err := e.c.RefreshToken(context.Background(), "nosuch")
		wantCode(t, err, wechat.ErrCodeInvalidRefreshToken)
	}
}
