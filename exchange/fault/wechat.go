package fault

import (
	"context"

	"wxlogin/exchange"
	"wxlogin/wechat"
)

// WeChat is an exchange.WeChat whose calls pass through Hooks
// ("ExchangeCode", "UserInfo").
type WeChat struct {
	Inner exchange.WeChat
	Hooks
}

var _ exchange.WeChat = (*WeChat)(nil)

func (w *WeChat) ExchangeCode(ctx context.Context, code string) (tok *wechat.Token, err error) {
	err = w.run(ctx, "ExchangeCode", func(ctx context.Context) (err error) {
		tok, err = w.Inner.ExchangeCode(ctx, code)
		return err
	})
	return tok, err
}

func (w *WeChat) UserInfo(ctx context.Context, accessToken, openid, lang string) (info *wechat.UserInfo, err error) {
	err = w.run(ctx, "UserInfo", func(ctx context.Context) (err error) {
		info, err = w.Inner.UserInfo(ctx, accessToken, openid, lang)
		return err
	})
	return info, err
}
