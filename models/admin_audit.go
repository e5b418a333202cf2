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

// AuditFilter narrows the audit log. Zero fields do not filter.
type AuditFilter struct {
	Admin  string    // admin_name, exactly
	Action string    // action, exactly
	Target string    // contained in target (e.g. an openid, "user:12")
	From   time.Time // inclusive
	To     time.Time // exclusive
}

// ListAuditFiltered is ListAudit with every filter of the audit page.
func (db *DB) ListAuditFiltered(ctx context.Context, f AuditFilter, offset, limit int) ([]AuditEntry, int64, error) {
	base := func() *gorm.DB {
		q := db.Gorm.WithContext(ctx).Model(&AuditEntry{})
		if f.Admin != "" {
			q = q.Where("admin_name = ?", f.Admin)
		}
		if f.Action != "" {
			q = q.Where("action = ?", f.Action)
		}
		if f.Target != "" {
			q = q.Where(`target LIKE ? ESCAPE '\'`, "%"+EscapeLike(f.Target)+"%")
		}
		if !f.From.IsZero() {
			q = q.Where("created_at >= ?", f.From.UTC())
		}
		if !f.To.IsZero() {
			q = q.Where("created_at < ?", f.To.UTC())
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

// AuditAdmins lists the admin names that appear in the audit log (the
// page's admin filter), at most 100.
func (db *DB) AuditAdmins(ctx context.Context) ([]string, error) {
	var out []string
	err := db.Gorm.WithContext(ctx).Model(&AuditEntry{}).Where("admin_name <> ''").
		Distinct("admin_name").Order("admin_name").Limit(100).Pluck("admin_name", &out).Error
	return out, err
}

// Nicknames returns the nicknames of the given users by id, in one query
// (the audit page links each target user by name).
func (db *DB) Nicknames(ctx context.Context, ids []int64) (map[int64]string, error) {
	out := map[int64]string{}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []struct {
		ID       int64
		Nickname string
	}
	if err := db.Gorm.WithContext(ctx).Table("users").Select("id, nickname").Where("id IN ?", ids).Scan(&rows).Error; err != nil {
		return nil, err
	}
	for _, r := range rows {
		out[r.ID] = r.Nickname
	}
	return out, nil
}
