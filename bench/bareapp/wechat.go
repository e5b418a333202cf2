package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// person is what WeChat says about whoever authorized.
type person struct {
	OpenID, UnionID, Nickname, Avatar string
}

// wechatClient calls the two OAuth endpoints a web login needs.
type wechatClient struct {
	hc                    *http.Client
	apiURL, appID, secret string
}

// exchange turns a code into the person (sns/oauth2/access_token, then
// sns/userinfo for the userinfo scope). The code is never retried: WeChat
// accepts it once.
func (c *wechatClient) exchange(ctx context.Context, code string) (person, error) {
	var tok struct {
		ErrCode     int    `json:"errcode"`
		AccessToken string `json:"access_token"`
		OpenID      string `json:"openid"`
		UnionID     string `json:"unionid"`
		Scope       string `json:"scope"`
	}
	q := url.Values{"appid": {c.appID}, "secret": {c.secret}, "code": {code}, "grant_type": {"authorization_code"}}
	if err := c.get(ctx, "/sns/oauth2/access_token?"+q.Encode(), &tok); err != nil {
		return person{}, err
	}
	if tok.ErrCode != 0 || tok.OpenID == "" {
		return person{}, fmt.Errorf("access_token: errcode %d", tok.ErrCode)
	}
	p := person{OpenID: tok.OpenID, UnionID: tok.UnionID}
	if tok.Scope != "snsapi_userinfo" {
		return p, nil
	}
	var ui struct {
		ErrCode    int    `json:"errcode"`
		Nickname   string `json:"nickname"`
		HeadImgURL string `json:"headimgurl"`
		UnionID    string `json:"unionid"`
	}
	q = url.Values{"access_token": {tok.AccessToken}, "openid": {tok.OpenID}, "lang": {"zh_CN"}}
	if err := c.get(ctx, "/sns/userinfo?"+q.Encode(), &ui); err != nil {
		return person{}, err
	}
	if ui.ErrCode != 0 {
		return person{}, fmt.Errorf("userinfo: errcode %d", ui.ErrCode)
	}
	p.Nickname, p.Avatar = ui.Nickname, ui.HeadImgURL
	if ui.UnionID != "" {
		p.UnionID = ui.UnionID
	}
	return p, nil
}

// get decodes one bounded JSON answer. Errors never carry the URL, which
// holds the code, the secret or the access token.
func (c *wechatClient) get(ctx context.Context, pathQuery string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.apiURL+pathQuery, nil)
	if err != nil {
		return fmt.Errorf("wechat request: bad API URL")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("wechat unreachable")
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("wechat: HTTP %d", res.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 64<<10)).Decode(v); err != nil {
		return fmt.Errorf("wechat: bad answer")
	}
	return nil
}
