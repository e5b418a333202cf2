package models_test

import (
	"context"
	"path/filepath"
	"sync"
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

// Instances starting at once must not race on the schema: goose's Postgres
// session lock serialises them.
func TestConcurrentMigrationsOnPostgres(t *testing.T) {
	url := testdb.NewEmpty(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make([]error, 6)
	start := make(chan struct{})
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			db, err := models.Open(ctx, url, "", models.Options{MaxOpenConns: 2})
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			errs[i] = db.Migrate(ctx)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
	}
}
