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

// AbandonStale marks pending exchanges whose lease ended before cutoff as
// failed ("abandoned"). Conditional, so safe on every instance at once.
func (db *DB) AbandonStale(ctx context.Context, cutoff time.Time) (int64, error) {
	res := db.Gorm.WithContext(ctx).Model(&CodeExchange{}).
		Where("status = ? AND lease_until < ?", StatusPending, cutoff.UTC()).
		Updates(map[string]any{"status": StatusFailed, "error_kind": "abandoned", "updated_at": time.Now().UTC(), "finished_at": time.Now().UTC()})
	return res.RowsAffected, res.Error
}
