package models

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// QR login statuses: waiting -> scanned -> confirmed | cancelled | expired.
// Every move is one conditional UPDATE that names the status it leaves, so
// two requests racing (two phones, two instances) can never both move it.
const (
	QRWaiting   = "waiting"
	QRScanned   = "scanned"
	QRConfirmed = "confirmed"
	QRCancelled = "cancelled"
	QRExpired   = "expired"
)

// QRLogin is one computer-login ticket (issue 16). Only the ticket's
// SHA-256 is stored; BrowserHash binds it to the computer's session.
type QRLogin struct {
	ID                  int64      `gorm:"column:id;primaryKey"`
	TicketHash          string     `gorm:"column:ticket_hash"`
	BrowserHash         string     `gorm:"column:browser_hash"`
	Status              string     `gorm:"column:status"`
	UserAgent           string     `gorm:"column:user_agent"`
	IP                  string     `gorm:"column:ip"`
	UserID              *int64     `gorm:"column:user_id"`
	ApproverSessionHash *string    `gorm:"column:approver_session_hash"`
	ApproverIP          string     `gorm:"column:approver_ip"`
	CreatedAt           time.Time  `gorm:"column:created_at"`
	ExpiresAt           time.Time  `gorm:"column:expires_at"`
	ScannedAt           *time.Time `gorm:"column:scanned_at"`
	FinishedAt          *time.Time `gorm:"column:finished_at"`
	ConsumedAt          *time.Time `gorm:"column:consumed_at"`
}

// TableName pins the table name.
func (QRLogin) TableName() string { return "qr_logins" }

const qrColumns = "id, ticket_hash, browser_hash, status, user_agent, ip, user_id, approver_session_hash, approver_ip, " +
	"created_at, expires_at, scanned_at, finished_at, consumed_at"

func scanQR(sc interface{ Scan(...any) error }, q *QRLogin) error {
	return sc.Scan(&q.ID, &q.TicketHash, &q.BrowserHash, &q.Status, &q.UserAgent, &q.IP, &q.UserID,
		&q.ApproverSessionHash, &q.ApproverIP, &q.CreatedAt, &q.ExpiresAt, &q.ScannedAt, &q.FinishedAt, &q.ConsumedAt)
}

// InsertQRLogin stores a new ticket.
func (db *DB) InsertQRLogin(ctx context.Context, q *QRLogin) error {
	q.CreatedAt, q.ExpiresAt = q.CreatedAt.UTC(), q.ExpiresAt.UTC()
	return db.Gorm.WithContext(ctx).Create(q).Error
}

// QRLoginByTicket returns the ticket's row, or ErrNotFound.
func (db *DB) QRLoginByTicket(ctx context.Context, ticketHash string) (*QRLogin, error) {
	var q QRLogin
	err := scanQR(db.SQL.QueryRowContext(ctx, db.rebind(`SELECT `+qrColumns+` FROM qr_logins WHERE ticket_hash = ?`), ticketHash), &q)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &q, nil
}

// qrUpdate runs one conditional UPDATE and reports whether it moved a row.
func (db *DB) qrUpdate(ctx context.Context, q string, args ...any) (bool, error) {
	res, err := db.SQL.ExecContext(ctx, db.rebind(q), args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ScanQRLogin moves a live waiting ticket to scanned, for userID.
func (db *DB) ScanQRLogin(ctx context.Context, ticketHash string, userID int64, now time.Time) (bool, error) {
	now = now.UTC()
	return db.qrUpdate(ctx, `UPDATE qr_logins SET status = ?, user_id = ?, scanned_at = ?
	  WHERE ticket_hash = ? AND status = ? AND expires_at > ?`, QRScanned, userID, now, ticketHash, QRWaiting, now)
}

// RefuseQRLogin ends a scanned ticket that somebody other than userID
// scanned first: a second person scanning a code is a code that was seen by
// more than one, so nobody gets to use it.
func (db *DB) RefuseQRLogin(ctx context.Context, ticketHash string, userID int64, now time.Time) (bool, error) {
	return db.qrUpdate(ctx, `UPDATE qr_logins SET status = ?, finished_at = ?
	  WHERE ticket_hash = ? AND status = ? AND user_id <> ?`, QRCancelled, now.UTC(), ticketHash, QRScanned, userID)
}

// ConfirmQRLogin moves a live ticket that userID scanned to confirmed,
// recording the approving phone session, and gives the computer until
// pickUp to collect it.
func (db *DB) ConfirmQRLogin(ctx context.Context, ticketHash string, userID int64, approverHash, approverIP string, now, pickUp time.Time) (bool, error) {
	now = now.UTC()
	return db.qrUpdate(ctx, `UPDATE qr_logins SET status = ?, approver_session_hash = ?, approver_ip = ?, finished_at = ?, expires_at = ?
	  WHERE ticket_hash = ? AND status = ? AND user_id = ? AND expires_at > ?`,
		QRConfirmed, approverHash, approverIP, now, pickUp.UTC(), ticketHash, QRScanned, userID, now)
}

// CancelQRLogin moves a ticket that userID scanned to cancelled.
func (db *DB) CancelQRLogin(ctx context.Context, ticketHash string, userID int64, now time.Time) (bool, error) {
	return db.qrUpdate(ctx, `UPDATE qr_logins SET status = ?, finished_at = ?
	  WHERE ticket_hash = ? AND status = ? AND user_id = ?`, QRCancelled, now.UTC(), ticketHash, QRScanned, userID)
}

// ExpireQRLogin moves a waiting or scanned ticket past its expiry to expired.
func (db *DB) ExpireQRLogin(ctx context.Context, ticketHash string, now time.Time) (bool, error) {
	now = now.UTC()
	return db.qrUpdate(ctx, `UPDATE qr_logins SET status = ?, finished_at = ?
	  WHERE ticket_hash = ? AND status IN (?, ?) AND expires_at <= ?`, QRExpired, now, ticketHash, QRWaiting, QRScanned, now)
}

// ConsumeQRLogin is the one winner of a confirmed ticket: it marks the
// ticket used for the browser that owns it and returns the approving user.
// ok is false for every other call, on every instance (the UPDATE's
// consumed_at IS NULL decides, never a read before the write).
func (db *DB) ConsumeQRLogin(ctx context.Context, ticketHash, browserHash string, now time.Time) (userID int64, ok bool, err error) {
	now = now.UTC()
	err = db.SQL.QueryRowContext(ctx, db.rebind(`UPDATE qr_logins SET consumed_at = ?
	  WHERE ticket_hash = ? AND browser_hash = ? AND status = ? AND consumed_at IS NULL AND expires_at > ?
	  RETURNING user_id`), now, ticketHash, browserHash, QRConfirmed, now).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return userID, true, nil
}

// revokeUserQRLogins cancels the tickets a user scanned or confirmed that
// no computer has collected yet: ending a user's sessions must not leave an
// approval behind that logs a computer in a moment later.
func (db *DB) revokeUserQRLogins(ctx context.Context, userID int64) error {
	_, err := db.SQL.ExecContext(ctx, db.rebind(`UPDATE qr_logins SET status = ?, finished_at = ?
	  WHERE user_id = ? AND status IN (?, ?) AND consumed_at IS NULL`),
		QRCancelled, time.Now().UTC(), userID, QRScanned, QRConfirmed)
	return err
}

// PurgeQRLogins deletes tickets created before cutoff that never logged a
// computer in; the used ones are the login log and follow PurgeOld's
// retention.
func (db *DB) PurgeQRLogins(ctx context.Context, unusedBefore, usedBefore time.Time) (int64, error) {
	res, err := db.SQL.ExecContext(ctx, db.rebind(`DELETE FROM qr_logins
	  WHERE (consumed_at IS NULL AND created_at < ?) OR created_at < ?`), unusedBefore.UTC(), usedBefore.UTC())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// QRLoginRow is one computer login in the admin login log.
type QRLoginRow struct {
	ID                  int64      `gorm:"column:id"`
	Status              string     `gorm:"column:status"`
	UserAgent           string     `gorm:"column:user_agent"`
	IP                  string     `gorm:"column:ip"`
	UserID              *int64     `gorm:"column:user_id"`
	ApproverSessionHash *string    `gorm:"column:approver_session_hash"`
	ApproverIP          string     `gorm:"column:approver_ip"`
	CreatedAt           time.Time  `gorm:"column:created_at"`
	FinishedAt          *time.Time `gorm:"column:finished_at"`
	ConsumedAt          *time.Time `gorm:"column:consumed_at"`
	Nickname            *string    `gorm:"column:nickname"`
	// The approving phone session, while it lasts: its device and address.
	ApproverUserAgent *string `gorm:"column:approver_user_agent"`
}

// ListQRLogins returns the newest tickets a person acted on (scanned,
// confirmed, cancelled), created in [from, to) when those are set.
func (db *DB) ListQRLogins(ctx context.Context, from, to time.Time, limit int) ([]QRLoginRow, error) {
	tx := db.Gorm.WithContext(ctx).Table("qr_logins AS q").Where("q.user_id IS NOT NULL")
	if !from.IsZero() {
		tx = tx.Where("q.created_at >= ?", from.UTC())
	}
	if !to.IsZero() {
		tx = tx.Where("q.created_at < ?", to.UTC())
	}
	var rows []QRLoginRow
	err := tx.Select(`q.id, q.status, q.user_agent, q.ip, q.user_id, q.approver_session_hash, q.approver_ip,
	    q.created_at, q.finished_at, q.consumed_at, u.nickname, s.user_agent AS approver_user_agent`).
		Joins("LEFT JOIN users u ON u.id = q.user_id").
		Joins("LEFT JOIN sessions s ON s.id_hash = q.approver_session_hash").Order("q.id DESC").Limit(limit).Scan(&rows).Error
	return rows, err
}
