package wechat

import (
	"errors"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary bodies to the decoder for every answer type.
// Whatever arrives, the decoder must not panic and must give exactly one of:
// a complete success, an *APIError with a non-zero code, or an
// *UnavailableError saying "bad json". The seeds run under plain go test.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"access_token":"AT","expires_in":7200,"refresh_token":"RT","openid":"o1","scope":"snsapi_base"}`,
		`{"access_token":"AT","expires_in":7200,"refresh_token":"RT","openid":"o1","scope":"snsapi_userinfo","is_snapshotuser":1,"unionid":"u1"}`,
		`{"openid":"o1","nickname":"小明🐱🌸✨","sex":2,"province":"","city":"<b>City</b>","country":"中国","headimgurl":"","privilege":[],"unionid":"u"}`,
		`{"openid":"o1","session_key":"k==","unionid":"u"}`,
		`{"errcode":0,"errmsg":"ok"}`,
		`{"errcode":40029,"errmsg":"invalid code, rid: 6543a1b2-1c2d3e4f-5a6b7c8d"}`,
		`{"errcode":"40163","errmsg":"code been used"}`,
		`{"errcode":-1,"errmsg":"system error"}`,
		`{"errcode":4.0029e4}`,
		`{"errcode":1e300}`,
		`{"errcode":null,"openid":"o"}`,
		"\xEF\xBB\xBF{\"errcode\":0}",
		`{"nickname":"\ud83d"}`,
		"{\"openid\":\"\xff\xfe\"}",
		`{"access_token":"90_`,
		`[]`, `null`, ``, `{}`, `<html>`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		targets := []func() any{
			func() any { return new(Token) },
			func() any { return new(UserInfo) },
			func() any { return new(Session) },
			func() any { return nil },
		}
		for _, mk := range targets {
			out := mk()
			err := decodeBody("fuzz", body, out)
			var ae *APIError
			var ue *UnavailableError
			switch {
			case err == nil:
				if c, ok := out.(completer); ok && !c.complete() {
					t.Fatalf("success with incomplete %T from %q", out, body)
				}
			case errors.As(err, &ae):
				if ae.Code == 0 || ae.Endpoint != "fuzz" {
					t.Fatalf("APIError %+v from %q", ae, body)
				}
			case errors.As(err, &ue):
				if !errors.Is(err, errBadJSON) || !strings.HasSuffix(err.Error(), "bad json") {
					t.Fatalf("UnavailableError %v from %q", err, body)
				}
			default:
				t.Fatalf("unexpected error %T %v from %q", err, err, body)
			}
		}
	})
}
