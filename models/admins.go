package models

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Admin is an operator account for the admin pages.
type Admin struct {
	ID           int64      `gorm:"column:id;primaryKey"`
	Username     string     `gorm:"column:username"`
	PasswordHash string     `gorm:"column:password_hash"`
	Disabled     bool       `gorm:"column:disabled"`
	CreatedAt    time.Time  `gorm:"column:created_at"`
	LastLoginAt  *time.Time `gorm:"column:last_login_at"`
}

// TableName pins the table name.
func (Admin) TableName() string { return "admins" }

// ErrExists is returned when a unique value is already taken.
var ErrExists = errors.New("already exists")

// CreateAdmin stores a new admin; the UNIQUE constraint reports a taken name.
func (db *DB) CreateAdmin(ctx context.Context, username, passwordHash string) (*Admin, error) {
	a := &Admin{Username: username, PasswordHash: passwordHash, CreatedAt: time.Now().UTC()}
	if err := db.Gorm.WithContext(ctx).Create(a).Error; err != nil {
		if isUniqueViolation(err) {
			return nil, ErrExists
		}
		return nil, err
	}
	return a, nil
}

// AdminByUsername loads an admin by name.
func (db *DB) AdminByUsername(ctx context.Context, username string) (*Admin, error) {
	var a Admin
	if err := db.Gorm.WithContext(ctx).Where("username = ?", username).Take(&a).Error; err != nil {
		return nil, notFound(err)
	}
	return &a, nil
}

// AdminByID loads an admin by id.
func (db *DB) AdminByID(ctx context.Context, id int64) (*Admin, error) {
	var a Admin
	if err := db.Gorm.WithContext(ctx).Where("id = ?", id).Take(&a).Error; err != nil {
		return nil, notFound(err)
	}
	return &a, nil
}

// ListAdmins lists every admin by name.
func (db *DB) ListAdmins(ctx context.Context) ([]Admin, error) {
	var out []Admin
	return out, db.Gorm.WithContext(ctx).Order("username").Find(&out).Error
}

// SetAdminDisabled disables or enables an admin; disabling ends their sessions.
func (db *DB) SetAdminDisabled(ctx context.Context, username string, disabled bool) error {
	tx := db.Gorm.WithContext(ctx).Begin()
	if tx.Error != nil {
		return tx.Error
	}
	defer tx.Rollback()
	var a Admin
	if err := tx.Where("username = ?", username).Take(&a).Error; err != nil {
		return notFound(err)
	}
	if err := tx.Model(&Admin{}).Where("id = ?", a.ID).Update("disabled", disabled).Error; err != nil {
		return err
	}
	if disabled {
		if err := tx.Exec("DELETE FROM sessions WHERE admin_id = ?", a.ID).Error; err != nil {
			return err
		}
	}
	return tx.Commit().Error
}

// isUniqueViolation recognises a unique-constraint error from either driver.
func isUniqueViolation(err error) bool {
	s := err.Error()
	return strings.Contains(s, "SQLSTATE 23505") || strings.Contains(s, "UNIQUE constraint failed") ||
		strings.Contains(s, "duplicate key value")
}
