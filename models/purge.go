package models

import (
	"context"
	"time"
)

// PurgeOld deletes code exchanges and audit rows older than before; pending
// exchanges are kept until they are final (a takeover may still need them).
func (db *DB) PurgeOld(ctx context.Context, before time.Time) (int64, error) {
	a := db.Gorm.WithContext(ctx).Where("created_at < ? AND status <> ?", before.UTC(), StatusPending).Delete(&CodeExchange{})
	if a.Error != nil {
		return 0, a.Error
	}
	b := db.Gorm.WithContext(ctx).Exec("DELETE FROM audit_log WHERE created_at < ?", before.UTC())
	return a.RowsAffected + b.RowsAffected, b.Error
}
