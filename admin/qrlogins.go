package admin

import (
	"context"
	"time"

	"wxlogin/models"
	"wxlogin/qrlogin"
)

// qrLoginRow is one computer login by QR code in the login log: who
// approved it, from which phone session, for which computer.
type qrLoginRow struct {
	models.QRLoginRow
	StatusLabel string
	Computer    qrlogin.Computer
	Phone       qrlogin.Computer // the approving session's device while that session lasts
	PhoneAlive  bool
	Session     string // the approving session's id hash, shortened: enough to tell two apart
}

// qrLoginsShown bounds the computer logins listed beside the exchanges.
const qrLoginsShown = 50

// qrLogins lists the newest computer logins in the log's date range.
func (a *Admin) qrLogins(ctx context.Context, from, to time.Time) ([]qrLoginRow, error) {
	rows, err := a.db.ListQRLogins(ctx, from, to, qrLoginsShown)
	if err != nil {
		return nil, err
	}
	out := make([]qrLoginRow, 0, len(rows))
	for _, r := range rows {
		v := qrLoginRow{QRLoginRow: r, Computer: qrlogin.Describe(r.UserAgent)}
		switch {
		case r.ConsumedAt != nil:
			v.StatusLabel = "已登录电脑"
		case r.Status == models.QRConfirmed:
			v.StatusLabel = "已确认，电脑未取用"
		case r.Status == models.QRScanned:
			v.StatusLabel = "已扫码"
		case r.Status == models.QRCancelled:
			v.StatusLabel = "已取消"
		default:
			v.StatusLabel = "已过期"
		}
		if r.ApproverUserAgent != nil {
			v.Phone, v.PhoneAlive = qrlogin.Describe(*r.ApproverUserAgent), true
		}
		if r.ApproverSessionHash != nil && len(*r.ApproverSessionHash) >= 12 {
			v.Session = (*r.ApproverSessionHash)[:12]
		}
		out = append(out, v)
	}
	return out, nil
}
