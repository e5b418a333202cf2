package handlers

import (
	"wxlogin/qrlogin"
)

// The pages of the computer login by QR code (issue 16) for every final
// state, on both sides: the computer's browser and the phone.

const newCodeURL = "/login/qr"

// computerMessages are what the computer's page says when its code is over.
var computerMessages = map[string]*Message{
	qrlogin.Expired: {Icon: "info", Title: "二维码已过期",
		Text:     "为了安全，二维码几分钟后就会失效。请获取新的二维码，再用微信扫一扫。",
		RetryURL: newCodeURL, RetryLabel: "获取新的二维码"},
	qrlogin.Cancelled: {Icon: "info", Title: "已取消登录",
		Text:     "这次登录已在手机上取消，这台电脑没有登录。需要时可以重新扫码。",
		RetryURL: newCodeURL, RetryLabel: "重新扫码登录"},
	"not_found": {Icon: "warn", Title: "二维码无效",
		Text:     "这个二维码不是在这个浏览器里生成的，或者已经失效。请获取新的二维码。",
		RetryURL: newCodeURL, RetryLabel: "获取新的二维码"},
	"slow_down": {Icon: "waiting", Title: "请求太频繁",
		Text:     "请稍等几秒再试。",
		RetryURL: newCodeURL, RetryLabel: "返回扫码登录"},
	"disabled": {Icon: "warn", Title: "账号已停用",
		Text: "确认登录的微信账号已被管理员停用，这台电脑没有登录。"},
}

// phoneMessages are what the phone shows after scanning or deciding.
var phoneMessages = map[string]*Message{
	"confirmed_now": {Icon: "success", Title: "已确认登录",
		Text: "电脑上的页面会自动进入你的账号。如果这不是你本人的操作，请立即联系公众号客服。"},
	"cancelled_now": {Icon: "info", Title: "已取消",
		Text: "这台电脑没有登录。"},
	qrlogin.Confirmed: {Icon: "info", Title: "已经确认过了",
		Text: "这个二维码已经确认过，每个二维码只能确认一次。"},
	qrlogin.Used: {Icon: "info", Title: "二维码已被使用",
		Text: "这个二维码已经用来登录过电脑，不能再次使用。需要时请在电脑上获取新的二维码。"},
	qrlogin.Cancelled: {Icon: "info", Title: "二维码已取消",
		Text: "这次登录已经取消。需要时请在电脑上获取新的二维码，再扫一次。"},
	qrlogin.Expired: {Icon: "info", Title: "二维码已过期",
		Text: "二维码几分钟后就会失效。请在电脑上获取新的二维码，再扫一次。"},
	qrlogin.Taken: {Icon: "warn", Title: "二维码已作废",
		Text: "这个二维码已被另一个微信号扫描过，为了安全已经作废。如果你正在电脑上登录，请在电脑上获取新的二维码。"},
	"not_found": {Icon: "warn", Title: "二维码无效",
		Text: "没有找到这个二维码，它可能已经失效。请在电脑上获取新的二维码，再扫一次。"},
	"forbidden": {Icon: "warn", Title: "操作未完成",
		Text: "页面已过期或缺少安全校验，这次操作没有生效。请在电脑上获取新的二维码，再扫一次。"},
}
