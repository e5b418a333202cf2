package wechat

import (
	"context"
	"errors"
	"fmt"
	"strconv"
)

// WeChat errcodes wxlogin branches on (wechat-api.md §5).
const (
	ErrCodeSystemBusy          = -1
	ErrCodeInvalidCredential   = 40001 // /sns/auth and /sns/userinfo with an unknown access_token
	ErrCodeInvalidOpenID       = 40003
	ErrCodeInvalidAppID        = 40013
	ErrCodeInvalidCode         = 40029
	ErrCodeInvalidRefreshToken = 40030
	ErrCodeInvalidSecret       = 40125
	ErrCodeCodeUsed            = 40163
	ErrCodeAccessTokenExpired  = 42001
	ErrCodeRefreshTokenExpired = 42002
	ErrCodeCodeExpired         = 42003
	ErrCodeAPIUnauthorized     = 48001
	// Mini Program login (/sns/jscode2session, wechat-api.md §6).
	ErrCodeRateLimited = 45011 // too many calls for this user (about 100 a minute)
	ErrCodeHighRisk    = 40226 // a high-risk user is refused login

	// The account's basic access token and the menu (wechat-api.md §7, §8).
	ErrCodeInvalidToken       = 40014              // invalid access_token
	ErrCodeIPNotWhitelisted   = 40164              // the calling IP is not on the account's whitelist
	ErrCodeDailyQuota         = 45009              // the API's daily quota is used up
	ErrCodeTooFrequent        = ErrCodeRateLimited // 45011, also stable_token force_refresh < 30 s apart
	ErrCodeMenuButtonCount    = 40016
	ErrCodeMenuButtonType     = 40017
	ErrCodeMenuNameLength     = 40018
	ErrCodeMenuKeyLength      = 40019
	ErrCodeMenuURLLength      = 40020
	ErrCodeMenuSubButtonCount = 40023
	ErrCodeMenuSubButtonType  = 40024
	ErrCodeMenuSubNameLength  = 40025
	ErrCodeMenuSubKeyLength   = 40026
	ErrCodeMenuSubURLLength   = 40027
	ErrCodeMenuURLDomain      = 40054
	ErrCodeMenuSubURLDomain   = 40055
	ErrCodeMenuNoButtons      = 46003 // get/delete: the account has no menu

	// ErrCodeUnavailable is not a WeChat errcode: it is the value Config.Observe
	// receives when an attempt produced no WeChat answer at all (network error,
	// timeout, HTTP status other than 200, undecodable body).
	ErrCodeUnavailable = -2
	// ErrCodeOverloaded is not a WeChat errcode either: Config.Observe
	// receives it for a call the concurrency limiter refused (ErrOverloaded)
	// or whose caller gave up while waiting for a slot; WeChat was not asked.
	ErrCodeOverloaded = -3
)

// APIError is WeChat's {"errcode":N,"errmsg":"..."}. Callers branch on Code
// via errors.As, never on Msg: the errmsg carries a per-request rid suffix.
type APIError struct {
	Endpoint string // "access_token", "refresh_token", "auth", "userinfo", "jscode2session"
	Code     int
	Msg      string // WeChat's errmsg, with the secret, code and tokens scrubbed out
}

func (e *APIError) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("wechat %s: errcode %d", e.Endpoint, e.Code)
	}
	return fmt.Sprintf("wechat %s: errcode %d: %s", e.Endpoint, e.Code, e.Msg)
}

// UnavailableError means WeChat gave no usable answer: an HTTP status other
// than 200, a network error, a timeout, or a body that is not the expected
// JSON. For the code exchange this means the outcome is unknown (the code
// may or may not have been consumed).
type UnavailableError struct {
	Endpoint string
	Status   int  // HTTP status if a response arrived, else 0
	Timeout  bool // the attempt ran out of time
	// Err is the underlying cause, for errors.Is (context.DeadlineExceeded,
	// net errors). Its text has the secret, code and tokens scrubbed, and the
	// request URL is never part of it.
	Err error
}

func (e *UnavailableError) Error() string {
	return "wechat " + e.Endpoint + ": " + e.kind()
}

// kind names the failure without any detail that could carry a credential.
func (e *UnavailableError) kind() string {
	switch {
	case e.Timeout:
		return "timeout"
	case e.Status != 0 && e.Status != 200:
		return "http status " + strconv.Itoa(e.Status)
	case errors.Is(e.Err, errBadJSON):
		return "bad json"
	case errors.Is(e.Err, errBodyTooLarge):
		return "response too large"
	case errors.Is(e.Err, context.Canceled):
		return "canceled"
	case errors.Is(e.Err, ErrBreakerOpen):
		return "circuit open"
	case errors.Is(e.Err, ErrOverloaded):
		return "overloaded"
	default:
		return "network error"
	}
}

func (e *UnavailableError) Unwrap() error { return e.Err }

var (
	errBadJSON      = errors.New("bad json")
	errBodyTooLarge = errors.New("response too large")
)

// ErrCode returns the errcode of the *APIError in err's chain, if any.
func ErrCode(err error) (int, bool) {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code, true
	}
	return 0, false
}

// IsCodeRejected reports whether WeChat refused the code itself (wrong or
// from another appid, already used, expired): the login can only go on by
// starting a new authorization.
func IsCodeRejected(err error) bool {
	code, ok := ErrCode(err)
	return ok && (code == ErrCodeInvalidCode || code == ErrCodeCodeUsed || code == ErrCodeCodeExpired)
}

// IsRateLimited reports WeChat's 45011: this user called too often; a new
// login may succeed after about a minute.
func IsRateLimited(err error) bool {
	code, ok := ErrCode(err)
	return ok && code == ErrCodeRateLimited
}

// IsTemporary reports whether trying again later may succeed: WeChat said it
// is busy (-1) or gave no usable answer. For ExchangeCode, "again" means a
// new authorization, never re-sending the same code.
func IsTemporary(err error) bool {
	if code, ok := ErrCode(err); ok {
		return code == ErrCodeSystemBusy
	}
	var ue *UnavailableError
	return errors.As(err, &ue)
}

// descriptions are short Chinese meanings for admin pages and audit logs.
var descriptions = map[int]string{
	0:                          "成功",
	ErrCodeUnavailable:         "微信接口不可用（网络、超时、HTTP 状态或响应格式错误）",
	ErrCodeOverloaded:          "本服务到微信的并发调用已满，未调用微信，请稍后重试",
	ErrCodeSystemBusy:          "微信系统繁忙，请稍后重试",
	ErrCodeInvalidCredential:   "access_token 无效",
	ErrCodeInvalidOpenID:       "openid 无效",
	ErrCodeInvalidAppID:        "appid 无效",
	ErrCodeInvalidCode:         "code 无效（错误、过期或属于其他 appid）",
	ErrCodeInvalidRefreshToken: "refresh_token 无效",
	ErrCodeInvalidSecret:       "appsecret 无效",
	ErrCodeCodeUsed:            "code 已被使用",
	ErrCodeAccessTokenExpired:  "access_token 已过期",
	ErrCodeRefreshTokenExpired: "refresh_token 已过期",
	ErrCodeCodeExpired:         "code 已过期",
	ErrCodeRateLimited:         "调用太频繁，请稍后重试（网页授权：同一用户每分钟约 100 次；stable_token 强制刷新：间隔至少 30 秒）",
	ErrCodeHighRisk:            "高风险用户，微信拒绝登录",
	ErrCodeAPIUnauthorized:     "接口未授权（如用 snsapi_base 的令牌获取用户信息，或公众号没有该接口权限）",
	ErrCodeInvalidToken:        "access_token 不合法",
	ErrCodeIPNotWhitelisted:    "调用接口的 IP 不在公众号的 IP 白名单中",
	ErrCodeDailyQuota:          "接口调用次数已达每日上限",
	ErrCodeMenuButtonCount:     "菜单按钮个数不合法（一级菜单 1–3 个）",
	ErrCodeMenuButtonType:      "菜单按钮类型不合法",
	ErrCodeMenuNameLength:      "菜单名称过长（一级不超过 16 字节）",
	ErrCodeMenuKeyLength:       "菜单 key 过长（不超过 128 字节）",
	ErrCodeMenuURLLength:       "菜单链接过长（不超过 1024 字节）",
	ErrCodeMenuSubButtonCount:  "子菜单个数不合法（每组不超过 5 个）",
	ErrCodeMenuSubButtonType:   "子菜单类型不合法",
	ErrCodeMenuSubNameLength:   "子菜单名称过长（不超过 60 字节）",
	ErrCodeMenuSubKeyLength:    "子菜单 key 过长（不超过 128 字节）",
	ErrCodeMenuSubURLLength:    "子菜单链接过长（不超过 1024 字节）",
	ErrCodeMenuURLDomain:       "菜单链接的域名不合法",
	ErrCodeMenuSubURLDomain:    "子菜单链接的域名不合法",
	ErrCodeMenuNoButtons:       "公众号当前没有菜单",
}

// Describe returns a short Chinese meaning of an errcode for admin pages;
// unknown codes are named as such rather than guessed.
func Describe(code int) string {
	if d, ok := descriptions[code]; ok {
		return d
	}
	return "未知错误码 " + strconv.Itoa(code)
}
