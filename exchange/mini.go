package exchange

import (
	"context"
	"time"

	"wxlogin/models"
	"wxlogin/wechat"
)

// MiniWeChat is the part of the mini program's WeChat client the gate calls.
type MiniWeChat interface {
	JSCode2Session(ctx context.Context, jsCode string) (*wechat.Session, error)
}

// MiniStep is the mini program login's WeChat part (KindMini):
// jscode2session, once per code, and the session_key sealed with TOKEN_KEY
// for the identity's row. The session_key never leaves it otherwise: not in
// the result, a log line or an error.
type MiniStep struct {
	WeChat MiniWeChat
	Sealer Sealer
	AppID  string // the mini program's appid, recorded on its identities
	Logger interface {
		WarnContext(ctx context.Context, msg string, args ...any)
	}
}

// Login implements Step. A mini program code is its own state, so there is
// never an earlier code's openid to compare with.
func (m MiniStep) Login(ctx context.Context, code, _ string) (models.Login, error) {
	s, err := m.WeChat.JSCode2Session(ctx, code)
	if err != nil {
		kind, errcode := classify(err)
		if m.Logger != nil {
			m.Logger.WarnContext(ctx, "jscode2session failed", "kind", kind, "errcode", errcode, "err", err)
		}
		return models.Login{}, &Failed{Kind: kind, ErrCode: errcode}
	}
	if s.OpenID == "" {
		return models.Login{}, &Failed{Kind: "wechat"}
	}
	var enc []byte
	if s.SessionKey != "" {
		// Bound to the identity it belongs to: a sealed key copied to
		// another row does not open there.
		if enc, err = m.Sealer.Seal([]byte(s.SessionKey), []byte("mini:"+s.OpenID)); err != nil {
			return models.Login{}, &Failed{Kind: "store"}
		}
	}
	return models.Login{
		App: models.AppMini, AppID: m.AppID, OpenID: s.OpenID, UnionID: s.UnionID,
		SessionKeyEnc: enc, At: time.Now().UTC(),
	}, nil
}
