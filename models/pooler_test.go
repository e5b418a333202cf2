package models_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"wxlogin/models"
	"wxlogin/testdb"
)

// The harness's PgBouncer really is in transaction mode: pgx's default named
// statements, made by two client connections in turn, collide or go missing
// on its shared server connections (the failure `wxlogin migrate` met). If
// this passes without an error, the pooler tests below prove nothing.
func TestHarnessPoolerBreaksNamedStatements(t *testing.T) {
	url := testdb.PoolerURL(t, testdb.New(t))
	ctx := t.Context()
	var conns []*pgx.Conn
	for range 2 {
		c, err := pgx.Connect(ctx, url) // default mode: cached named statements
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.Background())
		conns = append(conns, c)
	}
	var failed error
	for i := 0; i < 20 && failed == nil; i++ {
		var n int
		failed = conns[i%2].QueryRow(ctx, "SELECT count(*) FROM code_exchanges WHERE status = $1", "done").Scan(&n)
	}
	var pe *pgconn.PgError
	if !errors.As(failed, &pe) || (pe.Code != "42P05" && pe.Code != "26000") {
		t.Fatalf("named statements through the pooler: %v; want 42P05 or 26000 (is PgBouncer in transaction mode?)", failed)
	}
}

// Each connection gets the query mode that fits what it reaches: prepared
// statements when direct, describe-only through a transaction pooler, where
// several instances' pools then run every kind of query the app makes, in
// transactions and out, concurrently and without an error.
func TestQueryModeFitsTheConnection(t *testing.T) {
	direct := testdb.New(t)
	tests := []struct {
		name   string
		url    string
		pooled bool
		mode   string
	}{
		{"direct", direct, false, pgx.QueryExecModeCacheStatement.String()},
		{"transaction pooler", testdb.PoolerURL(t, direct), true, pgx.QueryExecModeCacheDescribe.String()},
		// What users behind PgBouncer added by hand before: still obeyed.
		{"pooler, mode set in the URL", testdb.PoolerURL(t, direct) + "&default_query_exec_mode=simple_protocol", true,
			pgx.QueryExecModeSimpleProtocol.String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			var dbs []*models.DB
			for range 3 { // three instances
				db, err := models.Open(ctx, tt.url, "", models.Options{MaxOpenConns: 6})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = db.Close() })
				if db.Pooled() != tt.pooled || db.QueryMode() != tt.mode {
					t.Fatalf("pooled %v, mode %s; want %v, %s", db.Pooled(), db.QueryMode(), tt.pooled, tt.mode)
				}
				dbs = append(dbs, db)
			}
			start := make(chan struct{})
			errs := make(chan error, 64)
			var wg sync.WaitGroup
			for g := range 24 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					db := dbs[g%len(dbs)]
					for i := range 25 {
						hash := fmt.Sprintf("%s-%d-%d", strings.ReplaceAll(tt.name, " ", ""), g, i)
						row := &models.CodeExchange{CodeHash: hash, StateHash: "s" + hash, BrowserHash: "b", NextPath: "/profile",
							Owner: "o", CreatedAt: time.Now().UTC()}
						if _, _, err := db.ClaimExchange(ctx, row, time.Minute); err != nil {
							errs <- fmt.Errorf("claim: %w", err)
							return
						}
						if _, err := db.ExchangeByCode(ctx, hash); err != nil {
							errs <- fmt.Errorf("read: %w", err)
							return
						}
						if _, err := db.CountExchanges(ctx, "pending"); err != nil {
							errs <- fmt.Errorf("count: %w", err)
							return
						}
						if err := db.Gorm.Transaction(func(tx *gorm.DB) error {
							var n int64
							return tx.Raw("SELECT count(*) FROM code_exchanges WHERE owner = ?", "o").Scan(&n).Error
						}); err != nil {
							errs <- fmt.Errorf("transaction: %w", err)
							return
						}
					}
				}()
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}

// Instances starting at once on an empty database all migrate, directly and
// through a transaction pooler (where goose's session lock did not work):
// the migration lock is transaction-scoped.
func TestConcurrentMigrations(t *testing.T) {
	tests := []struct {
		name string
		url  func(string) string
	}{
		{"direct", func(u string) string { return u }},
		{"transaction pooler", func(u string) string { return testdb.PoolerURL(t, u) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := tt.url(testdb.NewEmpty(t))
			ctx := t.Context()
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
		})
	}
}

// The listener is live only while its self-addressed probe arrives: LISTEN
// over a transaction pooler receives nothing, and must not be trusted;
// DATABASE_LISTEN_URL (a direct connection for LISTEN) makes it live again.
func TestListenerLiveOnlyWhenProbesArrive(t *testing.T) {
	direct := testdb.New(t)
	pooled := testdb.PoolerURL(t, direct)
	tests := []struct {
		name       string
		db, listen string
		live       bool
	}{
		{"direct", direct, direct, true},
		{"direct, other instances probing", direct, direct, true},
		{"pooler, no DATABASE_LISTEN_URL", pooled, pooled, false},
		{"pooler, DATABASE_LISTEN_URL direct", pooled, direct, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			db, err := models.Open(ctx, tt.db, "", models.Options{MaxOpenConns: 4})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			got := make(chan string, 16)
			l := models.NewListener(tt.listen, slog.New(slog.DiscardHandler), func(k string) { got <- k })
			l.SetProbeTiming(100*time.Millisecond, 300*time.Millisecond)
			l.ProbeWith(db.Notify)
			done := make(chan struct{})
			go func() { l.Run(ctx); close(done) }()
			defer func() { cancel(); <-done }()
			if strings.Contains(tt.name, "other instances") {
				// Many instances' probes share the channel; they must not
				// crowd out this listener's own.
				noise := make(chan struct{})
				defer func() { cancel(); <-noise }()
				go func() {
					defer close(noise)
					for i := 0; ctx.Err() == nil; i++ {
						_ = db.Notify(ctx, fmt.Sprintf("probe:other-%d", i))
					}
				}()
			}
			// A verdict comes within one probe round; wait for it (bounded).
			deadline := time.Now().Add(10 * time.Second)
			for !l.Live() && !strings.Contains(l.State(), "not received") {
				if time.Now().After(deadline) {
					t.Fatalf("no verdict in 10s: %s", l.State())
				}
				time.Sleep(10 * time.Millisecond)
			}
			if l.Live() != tt.live {
				t.Fatalf("live %v (%s), want %v", l.Live(), l.State(), tt.live)
			}
			select {
			case k := <-got:
				t.Fatalf("a probe reached the wake-up callback: %q", k)
			default:
			}
			if tt.live {
				// A real wake-up sent through the pool arrives.
				if err := db.Notify(ctx, "abc123"); err != nil {
					t.Fatal(err)
				}
				select {
				case k := <-got:
					if k != "abc123" {
						t.Fatalf("heard %q", k)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("wake-up not heard in 10s")
				}
			}
		})
	}
}
