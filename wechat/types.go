package wechat

import (
	"fmt"
	"log/slog"
)

// Token is the answer of the code exchange and of a refresh
// (/sns/oauth2/access_token, /sns/oauth2/refresh_token). The access token
// here is the per-user web token, not the Official Account's basic
// access_token.
type Token struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	OpenID       string `json:"openid"`
	Scope        string `json:"scope"`
	// IsSnapshotUser is 1 when the user is in Moments "snapshot page" mode:
	// the openid is a virtual account and must not become a user.
	IsSnapshotUser int `json:"is_snapshotuser"`
	// UnionID is only present for snsapi_userinfo on accounts bound to an
	// Open Platform account.
	UnionID string `json:"unionid"`
}

// String hides the tokens so a Token printed with %v or %+v leaks nothing.
func (t Token) String() string {
	return fmt.Sprintf("Token{openid=%s scope=%s expires_in=%d snapshot=%d unionid=%s access_token=%s refresh_token=%s}",
		t.OpenID, t.Scope, t.ExpiresIn, t.IsSnapshotUser, t.UnionID, redacted(t.AccessToken), redacted(t.RefreshToken))
}

// LogValue hides the tokens when a Token is passed to log/slog.
func (t Token) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("openid", t.OpenID),
		slog.String("scope", t.Scope),
		slog.Int("expires_in", t.ExpiresIn),
		slog.Int("is_snapshotuser", t.IsSnapshotUser),
		slog.String("unionid", t.UnionID),
	)
}

// UserInfo is the answer of /sns/userinfo. Nickname may hold any Unicode
// (CJK, emoji) and HTML metacharacters: escape it on output. HeadImgURL is
// empty when the user has no avatar.
type UserInfo struct {
	OpenID     string   `json:"openid"`
	Nickname   string   `json:"nickname"`
	Sex        int      `json:"sex"` // 0 unknown, 1 male, 2 female
	Province   string   `json:"province"`
	City       string   `json:"city"`
	Country    string   `json:"country"`
	HeadImgURL string   `json:"headimgurl"`
	Privilege  []string `json:"privilege"`
	UnionID    string   `json:"unionid"`
}

// Session is the answer of the Mini Program's /sns/jscode2session.
type Session struct {
	OpenID     string `json:"openid"`
	SessionKey string `json:"session_key"`
	UnionID    string `json:"unionid"`
}

// String hides the session key, which decrypts the user's data.
func (s Session) String() string {
	return fmt.Sprintf("Session{openid=%s unionid=%s session_key=%s}", s.OpenID, s.UnionID, redacted(s.SessionKey))
}

// LogValue hides the session key when a Session is passed to log/slog.
func (s Session) LogValue() slog.Value {
	return slog.GroupValue(slog.String("openid", s.OpenID), slog.String("unionid", s.UnionID))
}

func redacted(s string) string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}
