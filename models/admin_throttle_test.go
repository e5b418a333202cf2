package models_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"wxlogin/models"
	"wxlogin/testdb"
)

// bothDialects runs f on a fresh Postgres database and on a fresh SQLite
// file: the admin queries are hand-written SQL and must work on both.
func bothDialects(t *testing.T, f func(t *testing.T, db *models.DB)) {
	t.Run("postgres", func(t *testing.T) { f(t, testdb.Open(t)) })
	t.Run("sqlite", func(t *testing.T) {
		ctx := context.Background()
		db, err := models.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "t.db"), "", models.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		f(t, db)
	})
}

func TestThrottleAttemptLockAndExpiry(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 3, 18, 4, 0, 0, 0, time.UTC)
		const max, window, lockFor = 3, 15 * time.Minute, 10 * time.Minute
		attempt := func(at time.Time) models.Throttle {
			t.Helper()
			th, err := db.ThrottleAttempt(ctx, "acct:ops", at, window, lockFor, max)
			if err != nil {
				t.Fatal(err)
			}
			return th
		}
		steps := []struct {
			at       time.Duration
			failures int
			locked   bool
		}{
			{0, 1, false},
			{time.Minute, 2, false},
			{2 * time.Minute, 3, false},
			{3 * time.Minute, 4, true},   // past max: locked until 3m + 10m
			{5 * time.Minute, 4, true},   // while locked nothing changes
			{12 * time.Minute, 4, true},  // still locked
			{13 * time.Minute, 1, false}, // the lock ran out: a fresh count
			{14 * time.Minute, 2, false},
			{29 * time.Minute, 1, false}, // the window (from 13m) is over: a fresh count
		}
		for _, s := range steps {
			at := t0.Add(s.at)
			th := attempt(at)
			if th.Failures != s.failures || th.Locked(at) != s.locked {
				t.Fatalf("at +%v: %d failures, locked %v; want %d, %v", s.at, th.Failures, th.Locked(at), s.failures, s.locked)
			}
			if s.locked && !th.LockedUntil.Equal(t0.Add(13*time.Minute)) {
				t.Fatalf("at +%v: locked until %v, want +13m", s.at, th.LockedUntil)
			}
		}
		// A refund gives one attempt back; a clear forgets the key.
		if err := db.ThrottleRefund(ctx, "acct:ops"); err != nil {
			t.Fatal(err)
		}
		if th := attempt(t0.Add(30 * time.Minute)); th.Failures != 1 {
			t.Fatalf("after a refund: %d failures, want 1", th.Failures)
		}
		if found, err := db.ThrottleClear(ctx, "acct:ops"); err != nil || !found {
			t.Fatalf("clear: %v %v", found, err)
		}
		if found, _ := db.ThrottleClear(ctx, "acct:ops"); found {
			t.Fatal("cleared twice")
		}
	})
}

func TestPurgeThrottleKeepsWhatStillCounts(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		now := time.Date(2026, 3, 18, 4, 0, 0, 0, time.UTC)
		rows := []struct {
			key    string
			start  time.Duration // before now
			locked *time.Duration
			keep   bool
		}{
			{"stale", 20 * time.Minute, nil, false},
			{"fresh", 5 * time.Minute, nil, true},
			{"stale-but-locked", 20 * time.Minute, adminRef(5 * time.Minute), true},
			{"stale-lock-over", 40 * time.Minute, adminRef(-time.Minute), false},
		}
		for _, r := range rows {
			var lu *time.Time
			if r.locked != nil {
				v := now.Add(*r.locked).UTC()
				lu = &v
			}
			err := db.Gorm.Exec("INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES (?, 3, ?, ?)",
				r.key, now.Add(-r.start).UTC(), lu).Error
			if err != nil {
				t.Fatal(err)
			}
		}
		n, err := db.PurgeThrottle(ctx, now, 15*time.Minute)
		if err != nil || n != 2 {
			t.Fatalf("purged %d (%v), want 2", n, err)
		}
		for _, r := range rows {
			var c int64
			db.Gorm.Raw("SELECT count(*) FROM login_throttle WHERE key = ?", r.key).Scan(&c)
			if (c == 1) != r.keep {
				t.Errorf("%s: kept %v, want %v", r.key, c == 1, r.keep)
			}
		}
	})
}

// The admin list queries and the dashboard's counts run on both dialects.
func TestAdminQueriesOnBothDialects(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		now := time.Now()
		for _, nick := range []string{"五折50%优惠", "snake_case", "Alice"} {
			if err := db.Gorm.Exec("INSERT INTO users (openid, nickname, created_at, updated_at) VALUES (?, ?, ?, ?)",
				"o-"+nick, nick, now.UTC(), now.UTC()).Error; err != nil {
				t.Fatal(err)
			}
		}
		for q, want := range map[string]int64{"": 3, "%": 1, "_": 1, "alice": 1, "o-": 3, "nothing": 0} {
			rows, total, err := db.SearchUsers(ctx, q, 0, 10, now)
			if err != nil || total != want || int64(len(rows)) != want {
				t.Errorf("search %q: %d rows, total %d (%v); want %d", q, len(rows), total, err, want)
			}
		}
		err := db.Gorm.Exec(`INSERT INTO code_exchanges (code_hash, state_hash, browser_hash, status, owner, lease_until, duplicates, created_at, updated_at)
		    VALUES ('c1', 's1', 'b', 'done', 'i', ?, 2, ?, ?), ('c2', 's2', 'b', 'failed', 'i', ?, 0, ?, ?)`,
			now.UTC(), now.UTC(), now.UTC(), now.UTC(), now.UTC(), now.UTC()).Error
		if err != nil {
			t.Fatal(err)
		}
		d, err := db.DashboardCounts(ctx, now.Add(-time.Hour), now.Add(-time.Hour), now.Add(-time.Hour))
		if err != nil || d.UsersTotal != 3 || d.UsersToday != 3 || d.Logins24h != 1 || d.Duplicates != 2 {
			t.Fatalf("dashboard %+v (%v)", d, err)
		}
		b, err := db.LoginsPerSlot(ctx, now.Add(-time.Hour), time.Hour, 8*3600)
		if err != nil || len(b) != 1 || b[0].Total != 2 || b[0].Hits != 1 || b[0].Slot != (now.Unix()+8*3600)/3600 {
			t.Fatalf("slots %+v (%v)", b, err)
		}
		if _, total, err := db.ListExchanges(ctx, models.ExchangeFilter{Status: "failed"}, 0, 10); err != nil || total != 1 {
			t.Fatalf("login log: %d (%v)", total, err)
		}
		if err := db.InsertAudit(ctx, &models.AuditEntry{AdminName: "ops", Action: "login", IP: "127.0.0.1", CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if es, total, err := db.ListAudit(ctx, "login", 0, 10); err != nil || total != 1 || len(es) != 1 {
			t.Fatalf("audit: %d (%v)", total, err)
		}
	})
}

func adminRef[T any](v T) *T { return &v }

// Clearing by prefix takes the prefix literally: "_" and "%" in a name are
// not wildcards.
func TestThrottleClearPrefixIsLiteral(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		now := time.Now()
		for _, k := range []string{"acct:a_b|ip:1", "acct:a_b|ip:2", "acct:axb|ip:1", "acct:a_b", "acct:a%|ip:1"} {
			if _, err := db.ThrottleAttempt(ctx, k, now, time.Hour, time.Hour, 5); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := db.ThrottleClearPrefix(ctx, "acct:a_b|"); err != nil || n != 2 {
			t.Fatalf("cleared %d (%v), want 2", n, err)
		}
		if n, err := db.ThrottleClearPrefix(ctx, "acct:a%|"); err != nil || n != 1 {
			t.Fatalf("cleared %d (%v), want 1", n, err)
		}
		var left []string
		db.Gorm.Raw("SELECT key FROM login_throttle ORDER BY key").Scan(&left)
		if len(left) != 2 || left[0] != "acct:a_b" || left[1] != "acct:axb|ip:1" {
			t.Fatalf("left %q", left)
		}
	})
}
