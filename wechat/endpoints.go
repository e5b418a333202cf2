package wechat

import (
	"context"
	"math/rand/v2"
	"time"
)

// The WeChat APIs the client calls. Only calls that carry no single-use
// value are marked replayable; a new endpoint is one-shot unless it says
// otherwise, so forgetting the flag can cost an efficiency, never a code.
var (
	epAccessToken    = endpoint{name: "access_token", path: "/sns/oauth2/access_token"}
	epJSCode2Session = endpoint{name: "jscode2session", path: "/sns/jscode2session"}
	// A refresh token stays valid for its 30 days when used, so a re-send
	// only renews the token again.
	epRefreshToken = endpoint{name: "refresh_token", path: "/sns/oauth2/refresh_token", replayable: true}
	epAuth         = endpoint{name: "auth", path: "/sns/auth", replayable: true}
	epUserInfo     = endpoint{name: "userinfo", path: "/sns/userinfo", replayable: true}
)

// ExchangeCode trades an authorization code for a web access token
// (/sns/oauth2/access_token). The code goes to WeChat at most once per call:
// the client never retries it, and the request is built so that net/http
// cannot re-send it either (see endpoint.replayable). A code is single use,
// so a re-send after a lost answer could only earn 40163 and hide the real
// outcome. On an *UnavailableError the code may or may not have been
// consumed by WeChat, unless the cause is ErrOverloaded or ErrBreakerOpen
// (then it never left this process).
func (c *Client) ExchangeCode(ctx context.Context, code string) (*Token, error) {
	var t Token
	err := c.call(ctx, epAccessToken, []param{
		{key: "appid", value: c.cfg.AppID},
		{key: "secret", value: c.cfg.Secret, sensitive: true},
		{key: "code", value: code, sensitive: true},
		{key: "grant_type", value: "authorization_code"},
	}, &t)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// RefreshToken renews a web access token (/sns/oauth2/refresh_token); the
// refresh token lives 30 days. One attempt: the caller decides about retries.
func (c *Client) RefreshToken(ctx context.Context, refreshToken string) (*Token, error) {
	var t Token
	err := c.call(ctx, epRefreshToken, []param{
		{key: "appid", value: c.cfg.AppID},
		{key: "grant_type", value: "refresh_token"},
		{key: "refresh_token", value: refreshToken, sensitive: true},
	}, &t)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// CheckToken asks /sns/auth whether accessToken is still valid for openid;
// nil means valid. One attempt.
func (c *Client) CheckToken(ctx context.Context, accessToken, openid string) error {
	return c.call(ctx, epAuth, []param{
		{key: "access_token", value: accessToken, sensitive: true},
		{key: "openid", value: openid},
	}, nil)
}

// UserInfo fetches the profile behind a snsapi_userinfo token
// (/sns/userinfo). lang is "zh_CN" (default when empty), "zh_TW" or "en".
// The call is idempotent, so temporary failures (-1, non-200, timeout, bad
// JSON) are retried up to Config.UserInfoAttempts in total with jittered
// exponential backoff; WeChat's definite answers (e.g. 48001, 42001) are not.
// It stops early when ctx ends and then returns the last failure.
func (c *Client) UserInfo(ctx context.Context, accessToken, openid, lang string) (*UserInfo, error) {
	if lang == "" {
		lang = "zh_CN"
	}
	params := []param{
		{key: "access_token", value: accessToken, sensitive: true},
		{key: "openid", value: openid},
		{key: "lang", value: lang},
	}
	for attempt := 1; ; attempt++ {
		var u UserInfo
		err := c.call(ctx, epUserInfo, params, &u)
		if err == nil {
			return &u, nil
		}
		if !IsTemporary(err) || attempt >= c.cfg.UserInfoAttempts || ctx.Err() != nil {
			return nil, err
		}
		if !sleep(ctx, c.backoff(attempt)) {
			return nil, err
		}
	}
}

// JSCode2Session trades a Mini Program wx.login code for a session
// (/sns/jscode2session). The js_code is single use too: at most one sending
// per call, exactly as for ExchangeCode.
func (c *Client) JSCode2Session(ctx context.Context, jsCode string) (*Session, error) {
	var s Session
	err := c.call(ctx, epJSCode2Session, []param{
		{key: "appid", value: c.cfg.AppID},
		{key: "secret", value: c.cfg.Secret, sensitive: true},
		{key: "js_code", value: jsCode, sensitive: true},
		{key: "grant_type", value: "authorization_code"},
	}, &s)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// maxBackoff caps one pause so a large attempt count cannot stall a login.
const maxBackoff = 5 * time.Second

// backoff returns the pause after the given failed attempt (1-based):
// base·2^(attempt-1), capped, with "equal jitter" (half fixed, half random)
// so that many instances failing together do not retry in lockstep.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.Backoff
	for i := 1; i < attempt && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	half := d / 2
	return half + rand.N(half+1)
}

// sleep waits d or until ctx ends; it reports whether the full d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
