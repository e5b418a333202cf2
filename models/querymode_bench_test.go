package models_test

import (
	"context"
	"os"
	"testing"
	"time"

	"wxlogin/models"
	"wxlogin/testdb"
)

// BenchmarkQueryMode: the database side of one login (claim the code, read
// the row, record the user, finish the exchange), from 8 goroutines per CPU,
// in each query mode: named prepared statements on a direct connection (what
// Open picks there), describe-only statements on the same direct connection
// (what a fixed pooler-safe mode would cost everybody), and describe-only
// through the harness's PgBouncer in transaction mode (what Open picks
// there). Compare ns/op: logins per second are 1e9 / (ns/op).
func BenchmarkQueryMode(b *testing.B) {
	direct := testdb.New(b)
	modes := []struct{ name, url string }{
		{"direct/prepared", direct},
		{"direct/describe", direct + "&default_query_exec_mode=cache_describe"},
	}
	if os.Getenv("TEST_PGBOUNCER_URL") != "" || os.Getenv("TEST_DATABASE_URL") != "" {
		modes = append(modes, struct{ name, url string }{"pgbouncer/describe", testdb.PoolerURL(b, direct)})
	}
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			ctx := context.Background()
			db, err := models.Open(ctx, m.url, "", models.Options{MaxOpenConns: 20})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			b.SetParallelism(8)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := benchLoginQueries(ctx, db); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func benchLoginQueries(ctx context.Context, db *models.DB) error {
	hash := benchUniq("c")
	now := time.Now().UTC()
	if _, _, err := db.ClaimExchange(ctx, &models.CodeExchange{CodeHash: hash, StateHash: "s" + hash, BrowserHash: "b",
		NextPath: "/profile", Owner: "bench", CreatedAt: now}, time.Minute); err != nil {
		return err
	}
	if _, err := db.ExchangeByCode(ctx, hash); err != nil {
		return err
	}
	openid := hash[:28]
	uid, _, err := db.RecordLogin(ctx, benchLogin(openid))
	if err != nil {
		return err
	}
	return db.CompleteExchange(ctx, hash, models.Fence{Owner: "bench", Attempt: 1}, uid, openid)
}
