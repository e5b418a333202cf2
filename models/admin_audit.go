package models

import (
	"context"
	"time"

	"gorm.io/gorm"
)

// AuditEntry is one thing an admin did (or tried): who, what, to whom, when
// and from which address.
type AuditEntry struct {
	ID        int64     `gorm:"column:id;primaryKey"`
	AdminID   *int64    `gorm:"column:admin_id"`
	AdminName string    `gorm:"column:admin_name"`
	Action    string    `gorm:"column:action"`
	Target    string    `gorm:"column:target"`
	Detail    string    `gorm:"column:detail"`
	IP        string    `gorm:"column:ip"`
	CreatedAt time.Time `gorm:"column:created_at"`
}

// TableName pins the table name.
func (AuditEntry) TableName() string { return "audit_log" }

// InsertAudit records one entry.
func (db *DB) InsertAudit(ctx context.Context, e *AuditEntry) error {
	e.CreatedAt = e.CreatedAt.UTC()
	return db.Gorm.WithContext(ctx).Create(e).Error
}

// ListAudit returns a page of entries, newest first, and how many there are.
func (db *DB) ListAudit(ctx context.Context, action string, offset, limit int) ([]AuditEntry, int64, error) {
	base := func() *gorm.DB {
		q := db.Gorm.WithContext(ctx).Model(&AuditEntry{})
		if action != "" {
			q = q.Where("action = ?", action)
		}
		return q
	}
	var total int64
	if err := base().Count(&total).Error; err != nil {
		return nil, 0, err
	}
	var out []AuditEntry
	err := base().Order("id DESC").Offset(offset).Limit(limit).Find(&out).Error
	return out, total, err
}
