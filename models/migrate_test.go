package models_test

import (
	"context"
	"path/filepath"
	"testing"

	"wxlogin/migrations"
	"wxlogin/models"
	"wxlogin/testdb"
)

// Both dialects migrate to the same version, and the schema answers the
// queries the app makes.
func TestMigrationsBothDialects(t *testing.T) {
	ctx := context.Background()
	dbs := map[string]*models.DB{}
	lite, err := models.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "x.db"), "", models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lite.Close() })
	if err := lite.Migrate(ctx); err != nil {
		t.Fatalf("sqlite: %v", err)
	}
	dbs["sqlite"] = lite
	dbs["postgres"] = testdb.Open(t)
	for name, db := range dbs {
		t.Run(name, func(t *testing.T) {
			cur, target, err := migrations.Version(ctx, db.SQL, db.Dialect)
			if err != nil || cur != target || cur == 0 {
				t.Fatalf("version %d of %d (%v)", cur, target, err)
			}
			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("migrating twice: %v", err)
			}
			if _, err := db.CountExchanges(ctx, ""); err != nil {
				t.Fatalf("code_exchanges: %v", err)
			}
		})
	}
}
