package wechat_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"wxlogin/wechat"
	"wxlogin/wechatsim"
)

// Every test user through exchange and userinfo: the fields the app stores
// must arrive intact (emoji, HTML metacharacters, missing avatar/unionid,
// snapshot flag).
func TestExchangeAndUserInfo(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	for _, su := range e.sim.Users() {
		for _, scope := range []string{"snsapi_base", "snsapi_userinfo"} {
			t.Run(su.Key+"/"+scope, func(t *testing.T) {
				tok, err := e.c.ExchangeCode(ctx, e.code(t, su.Key, scope))
				if err != nil {
					t.Fatal(err)
				}
				if tok.OpenID != su.OpenID || tok.Scope != scope || tok.ExpiresIn != 7200 ||
					tok.AccessToken == "" || tok.RefreshToken == "" {
					t.Fatalf("token = %+v", tok)
				}
				wantUnion := ""
				if scope == "snsapi_userinfo" {
					wantUnion = su.UnionID
				}
				if tok.UnionID != wantUnion {
					t.Fatalf("unionid = %q, want %q", tok.UnionID, wantUnion)
				}
				if want := map[bool]int{true: 1}[su.Snapshot]; tok.IsSnapshotUser != want {
					t.Fatalf("is_snapshotuser = %d, want %d", tok.IsSnapshotUser, want)
				}
				if scope == "snsapi_base" {
					_, err := e.c.UserInfo(ctx, tok.AccessToken, tok.OpenID, "zh_CN")
					wantCode(t, err, wechat.ErrCodeAPIUnauthorized)
					return
				}
				ui, err := e.c.UserInfo(ctx, tok.AccessToken, tok.OpenID, "")
				if err != nil {
					t.Fatal(err)
				}
				wantImg := ""
				if su.Key != "noavatar" {
					wantImg = e.srv.URL + "/avatar/" + su.Key + "/132"
				}
				// Today's WeChat (since 2021-10-20) answers sex 0 and no region.
				if ui.OpenID != su.OpenID || ui.Nickname != su.Nickname || ui.Sex != 0 ||
					ui.Province != "" || ui.City != "" || ui.Country != "" ||
					ui.UnionID != su.UnionID || ui.HeadImgURL != wantImg || ui.Privilege == nil {
					t.Fatalf("userinfo = %+v\nuser     = %+v", ui, su)
				}
			})
		}
	}
}

func TestNicknamesRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	for key, want := range map[string]string{
		"emoji": "小明🐱🌸✨",
		"xss":   `<script>alert("x")</script> & "Tom" 's`,
	} {
		tok, err := e.c.ExchangeCode(context.Background(), e.code(t, key, "snsapi_userinfo"))
		if err != nil {
			t.Fatal(err)
		}
		ui, err := e.c.UserInfo(context.Background(), tok.AccessToken, tok.OpenID, "zh_CN")
		if err != nil {
			t.Fatal(err)
		}
		if ui.Nickname != want {
			t.Fatalf("%s nickname = %q (% x), want %q", key, ui.Nickname, ui.Nickname, want)
		}
	}
}

// Whatever lang is asked for, today's WeChat answers sex 0 and empty
// province, city and country (wechat-api.md §4).
func TestUserInfoLang(t *testing.T) {
	e := newEnv(t, nil)
	for _, key := range []string{"english", "zhangsan"} {
		for _, lang := range []string{"en", "zh_CN", "zh_TW", ""} {
			t.Run(key+"/"+lang, func(t *testing.T) {
				tok, err := e.c.ExchangeCode(context.Background(), e.code(t, key, "snsapi_userinfo"))
				if err != nil {
					t.Fatal(err)
				}
				ui, err := e.c.UserInfo(context.Background(), tok.AccessToken, tok.OpenID, lang)
				if err != nil {
					t.Fatal(err)
				}
				if ui.Sex != 0 || ui.Province != "" || ui.City != "" || ui.Country != "" || ui.Nickname == "" {
					t.Fatalf("userinfo = %+v; want a nickname, sex 0 and no region", ui)
				}
			})
		}
	}
}

// Every errcode of the exchange, via errors.As to *APIError.
func TestExchangeErrors(t *testing.T) {
	other := wechatsim.New(wechatsim.Options{AppID: "wx5im0000000000002", Secret: "another0secret"})
	tests := []struct {
		name  string
		setup func(t *testing.T, e *env) (*wechat.Client, string)
		want  int
	}{
		{"wrong appid", func(t *testing.T, e *env) (*wechat.Client, string) {
			cfg := e.cfg
			cfg.AppID = "wx0000000000000bad"
			return wechat.New(cfg), e.code(t, "zhangsan", "snsapi_base")
		}, wechat.ErrCodeInvalidAppID},
		{"wrong secret", func(t *testing.T, e *env) (*wechat.Client, string) {
			cfg := e.cfg
			cfg.Secret = "not-the-secret"
			return wechat.New(cfg), e.code(t, "zhangsan", "snsapi_base")
		}, wechat.ErrCodeInvalidSecret},
		{"unknown code", func(t *testing.T, e *env) (*wechat.Client, string) {
			return e.c, "081NoSuchCode000000000000000000"
		}, wechat.ErrCodeInvalidCode},
		{"code of another appid", func(t *testing.T, e *env) (*wechat.Client, string) {
			code, err := other.IssueCode("zhangsan", "snsapi_userinfo")
			if err != nil {
				t.Fatal(err)
			}
			return e.c, code
		}, wechat.ErrCodeInvalidCode},
		{"used code", func(t *testing.T, e *env) (*wechat.Client, string) {
			code := e.code(t, "zhangsan", "snsapi_base")
			if _, err := e.c.ExchangeCode(context.Background(), code); err != nil {
				t.Fatal(err)
			}
			return e.c, code
		}, wechat.ErrCodeCodeUsed},
		{"expired code (5 minutes)", func(t *testing.T, e *env) (*wechat.Client, string) {
			code := e.code(t, "zhangsan", "snsapi_base")
			e.clock.Advance(5 * time.Minute)
			return e.c, code
		}, wechat.ErrCodeCodeExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			c, code := tt.setup(t, e)
			tok, err := c.ExchangeCode(context.Background(), code)
			if tok != nil {
				t.Fatalf("token %v with error", tok)
			}
			var ae *wechat.APIError
			if !errors.As(err, &ae) || ae.Code != tt.want || ae.Endpoint != "access_token" {
				t.Fatalf("error = %#v, want APIError %d", err, tt.want)
			}
			if !strings.Contains(ae.Msg, "rid: ") {
				t.Fatalf("errmsg %q lacks the rid suffix", ae.Msg)
			}
			if got := wechat.IsCodeRejected(err); got != (tt.want == 40029 || tt.want == 40163 || tt.want == 42003) {
				t.Fatalf("IsCodeRejected = %v", got)
			}
		})
	}
}

func TestCodeFreshJustBeforeExpiry(t *testing.T) {
	e := newEnv(t, nil)
	code := e.code(t, "zhangsan", "snsapi_base")
	e.clock.Advance(5*time.Minute - time.Second)
	if _, err := e.c.ExchangeCode(context.Background(), code); err != nil {
		t.Fatal(err)
	}
}

func TestRefreshToken(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tok, err := e.c.ExchangeCode(ctx, e.code(t, "zhangsan", "snsapi_userinfo"))
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(3 * time.Hour) // the access token has expired
	if err := e.c.CheckToken(ctx, tok.AccessToken, tok.OpenID); err == nil {
		t.Fatal("old access token still valid")
	}
	nt, err := e.c.RefreshToken(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if nt.AccessToken == tok.AccessToken || nt.OpenID != tok.OpenID || nt.Scope != "snsapi_userinfo" || nt.ExpiresIn != 7200 || nt.RefreshToken == "" {
		t.Fatalf("refreshed = %+v", nt)
	}
	if err := e.c.CheckToken(ctx, nt.AccessToken, nt.OpenID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.UserInfo(ctx, nt.AccessToken, nt.OpenID, "zh_CN"); err != nil {
		t.Fatal(err)
	}

	t.Run("invalid", func(t *testing.T) {
		_, err := e.c.RefreshToken(ctx, "90_nosuchrefreshtoken")
		wantCode(t, err, wechat.ErrCodeInvalidRefreshToken)
	})
	t.Run("wrong appid", func(t *testing.T) {
		cfg := e.cfg
		cfg.AppID = "wx0000000000000bad"
		_, err := wechat.New(cfg).RefreshToken(ctx, tok.RefreshToken)
		wantCode(t, err, wechat.ErrCodeInvalidAppID)
	})
	t.Run("expired after 30 days", func(t *testing.T) {
		e.clock.Advance(30 * 24 * time.Hour)
		_, err := e.c.RefreshToken(ctx, tok.RefreshToken)
		wantCode(t, err, wechat.ErrCodeRefreshTokenExpired)
	})
}

func TestCheckToken(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tok, err := e.c.ExchangeCode(ctx, e.code(t, "zhangsan", "snsapi_base"))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.c.CheckToken(ctx, tok.AccessToken, tok.OpenID); err != nil {
		t.Fatalf("valid token: %v", err)
	}
	wantCode(t, e.c.CheckToken(ctx, tok.AccessToken, e.user(t, "emoji").OpenID), wechat.ErrCodeInvalidOpenID)
	wantCode(t, e.c.CheckToken(ctx, "90_nosuchtoken", tok.OpenID), wechat.ErrCodeInvalidCredential)
	e.clock.Advance(7200 * time.Second)
	wantCode(t, e.c.CheckToken(ctx, tok.AccessToken, tok.OpenID), wechat.ErrCodeAccessTokenExpired)
}

func TestUserInfoErrors(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	tok, err := e.c.ExchangeCode(ctx, e.code(t, "emoji", "snsapi_userinfo"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, token, openid string
		advance             time.Duration
		want                int
	}{
		{"invalid token", "90_nosuchtoken", tok.OpenID, 0, wechat.ErrCodeInvalidCredential},
		{"openid mismatch", tok.AccessToken, e.user(t, "zhangsan").OpenID, 0, wechat.ErrCodeInvalidOpenID},
		{"expired token", tok.AccessToken, tok.OpenID, 7200 * time.Second, wechat.ErrCodeAccessTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.clock.Advance(tt.advance)
			e.sim.Reset()
			_, err := e.c.UserInfo(ctx, tt.token, tt.openid, "zh_CN")
			wantCode(t, err, tt.want)
			if wechat.IsTemporary(err) {
				t.Fatal("definite answer reported temporary")
			}
			if n := e.sim.Stats().UserInfoCalls; n != 1 {
				t.Fatalf("userinfo calls = %d, want 1 (no retry of definite answers)", n)
			}
		})
	}
}

func TestJSCode2Session(t *testing.T) {
	e := newEnv(t, func(c *wechat.Config) { c.AppID, c.Secret = wechatsim.DefaultMiniAppID, wechatsim.DefaultMiniSecret })
	ctx := context.Background()
	code, err := e.sim.IssueMiniCode("zhangsan")
	if err != nil {
		t.Fatal(err)
	}
	s, err := e.c.JSCode2Session(ctx, code)
	if err != nil {
		t.Fatal(err)
	}
	if s.OpenID != e.user(t, "zhangsan").MiniOpenID || s.SessionKey == "" || s.UnionID == "" {
		t.Fatalf("session = %+v", s)
	}
	if strings.Contains(s.String(), s.SessionKey) || strings.Contains((*s).String(), s.SessionKey) {
		t.Fatal("Session.String leaks the session key")
	}
	_, err = e.c.JSCode2Session(ctx, code)
	wantCode(t, err, wechat.ErrCodeCodeUsed)
	_, err = e.c.JSCode2Session(ctx, "nosuchcode")
	wantCode(t, err, wechat.ErrCodeInvalidCode)
}

// The whole browser hop headlessly: AuthorizeURL → simulator → callback
// URL with code and state → exchange.
func TestAuthorizeHeadlessEndToEnd(t *testing.T) {
	e := newEnv(t, nil)
	for _, scope := range []string{"snsapi_base", "snsapi_userinfo"} {
		t.Run(scope, func(t *testing.T) {
			link := e.c.AuthorizeURL("https://app.example/wechat/callback", scope, "abc123")
			req, _ := http.NewRequest(http.MethodGet, link, nil)
			req.Header.Set("X-Sim-User", "emoji")
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("status = %d", resp.StatusCode)
			}
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			if loc.Host != "app.example" || loc.Query().Get("state") != "abc123" {
				t.Fatalf("callback = %s", loc)
			}
			tok, err := e.c.ExchangeCode(context.Background(), loc.Query().Get("code"))
			if err != nil {
				t.Fatal(err)
			}
			if tok.OpenID != e.user(t, "emoji").OpenID || tok.Scope != scope {
				t.Fatalf("token = %+v", tok)
			}
		})
	}
}

func TestObserve(t *testing.T) {
	type obs struct {
		endpoint string
		code     int
	}
	var got []obs
	e := newEnv(t, func(c *wechat.Config) {
		c.Observe = func(endpoint string, code int, d time.Duration) {
			if d < 0 {
				t.Errorf("negative duration")
			}
			got = append(got, obs{endpoint, code})
		}
	})
	ctx := context.Background()
	tok, err := e.c.ExchangeCode(ctx, e.code(t, "zhangsan", "snsapi_userinfo"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = e.c.ExchangeCode(ctx, "nosuchcode")
	_ = e.c.CheckToken(ctx, tok.AccessToken, tok.OpenID)
	_, _ = e.c.RefreshToken(ctx, tok.RefreshToken)
	e.sim.SetFault("userinfo", wechatsim.Fault{HTTPStatus: 502, Count: 1})
	_, _ = e.c.UserInfo(ctx, tok.AccessToken, tok.OpenID, "zh_CN")
	want := []obs{
		{"access_token", 0}, {"access_token", 40029}, {"auth", 0}, {"refresh_token", 0},
		{"userinfo", wechat.ErrCodeUnavailable}, {"userinfo", 0},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("observed %v, want %v", got, want)
	}
}

func TestTokenStringHidesTokens(t *testing.T) {
	tok := wechat.Token{AccessToken: "ACCESS-SECRET", RefreshToken: "REFRESH-SECRET", OpenID: "o123"}
	for _, s := range []string{tok.String(), (&tok).String()} {
		if strings.Contains(s, "SECRET") || !strings.Contains(s, "o123") {
			t.Fatalf("Token.String = %q", s)
		}
	}
}
