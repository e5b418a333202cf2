package models_test

import (
	"context"
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
//
// Each mode gets a fresh database, so none runs on a table the others grew.
// On a shared machine, run the modes alternately (scripts/bench-querymode.sh)
// rather than one after the other.
func BenchmarkQueryMode(b *testing.B) {
	modes := []struct {
		name string
		url  func(direct string) string
	}{
		{"direct/prepared", func(u string) string { return u }},
		{"direct/describe", func(u string) string { return u + "&default_query_exec_mode=cache_describe" }},
		{"pgbouncer/describe", func(u string) string { return testdb.PoolerURL(b, u) }},
	}
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			ctx := context.Background()
			db, err := models.Open(ctx, m.url(testdb.New(b)), "", models.Options{MaxOpenConns: 20})
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
