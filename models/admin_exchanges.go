package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// Outcomes of the login log besides the row statuses: a done row of a
// disabled user is a refusal, a failed row of a snapshot-page visitor is
// neither a login nor a failure.
const (
	OutcomeRefused  = "refused"
	OutcomeSnapshot = "snapshot"
)

// ExchangeFilter narrows the login log. Zero fields do not filter.
type ExchangeFilter struct {
	// Status is a row status (done: logins only; failed: failures only,
	// without snapshot visitors) or OutcomeRefused / OutcomeSnapshot.
	Status  string
	ErrCode *int
	From    time.Time // inclusive
	To      time.Time // exclusive
	UserID  int64
}

// ExchangeRow is one line of the login log: a code exchange without its
// hashes, with the user's nickname joined in (no query per row).
type ExchangeRow struct {
	ID         int64      `gorm:"column:id"`
	Status     string     `gorm:"column:status"`
	Owner      string     `gorm:"column:owner"`
	Scope      string     `gorm:"column:scope"`
	NextPath   string     `gorm:"column:next_path"`
	Attempts   int        `gorm:"column:attempts"`
	Takeovers  int        `gorm:"column:takeovers"`
	Duplicates int        `gorm:"column:duplicates"`
	UserID     *int64     `gorm:"column:user_id"`
	OpenID     *string    `gorm:"column:openid"`
	ErrCode    *int       `gorm:"column:errcode"`
	ErrorKind  *string    `gorm:"column:error_kind"`
	CreatedAt  time.Time  `gorm:"column:created_at"`
	FinishedAt *time.Time `gorm:"column:finished_at"`
	Nickname   *string    `gorm:"column:nickname"`
}

// Outcome is what the row means to a person reading the log: done,
// refused, failed, snapshot or pending.
func (r ExchangeRow) Outcome() string {
	k := ""
	if r.ErrorKind != nil {
		k = *r.ErrorKind
	}
	switch {
	case r.Status == StatusDone && k == KindDisabled:
		return OutcomeRefused
	case r.Status == StatusFailed && k == KindSnapshot:
		return OutcomeSnapshot
	}
	return r.Status
}

// ListExchanges returns one page of the login log, newest first, and how many
// rows match in all.
func (db *DB) ListExchanges(ctx context.Context, f ExchangeFilter, offset, limit int) ([]ExchangeRow, int64, error) {
	base := func() *gorm.DB {
		tx := db.Gorm.WithContext(ctx).Table("code_exchanges AS e")
		switch f.Status {
		case "":
		case StatusDone:
			tx = tx.Where("e.status = ? AND e.error_kind IS NULL", StatusDone)
		case OutcomeRefused:
			tx = tx.Where("e.status = ? AND e.error_kind = ?", StatusDone, KindDisabled)
		case StatusFailed:
			tx = tx.Where("e.status = ? AND COALESCE(e.error_kind, '') <> ?", StatusFailed, KindSnapshot)
		case OutcomeSnapshot:
			tx = tx.Where("e.status = ? AND e.error_kind = ?", StatusFailed, KindSnapshot)
		default:
			tx = tx.Where("e.status = ?", f.Status)
		}
		if f.ErrCode != nil {
			tx = tx.Where("e.errcode = ?", *f.ErrCode)
		}
		if !f.From.IsZero() {
			tx = tx.Where("e.created_at >= ?", f.From.UTC())
		}
		if !f.To.IsZero() {
			tx = tx.Where("e.created_at < ?", f.To.UTC())
		}
		if f.UserID != 0 {
			tx = tx.Where("e.user_id = ?", f.UserID)
		}
		return tx
	}
	var total int64
	if err := base().Count(&total).Error; err != nil {
		return nil, 0, err
	}
	var rows []ExchangeRow
	err := base().Select(`e.id, e.status, e.owner, e.scope, e.next_path, e.attempts, e.takeovers, e.duplicates,
	        e.user_id, e.openid, e.errcode, e.error_kind, e.created_at, e.finished_at, u.nickname`).
		Joins("LEFT JOIN users u ON u.id = e.user_id").
		Order("e.id DESC").Offset(offset).Limit(limit).Scan(&rows).Error
	return rows, total, err
}
