package models_test

import (
	"context"
	"sync"
	"testing"

	"wxlogin/models"
)

// TestEntryCountsUpsertAdds: a flush adds to the day's row (one row per
// day), several days go in one statement, reads start at a day, and the
// purge drops the days before its cutoff.
func TestEntryCountsUpsertAdds(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		for _, n := range []map[string]int64{
			{"2026-11-25": 3},
			{"2026-11-25": 4, "2026-11-26": 1},
			{"2026-11-26": 0}, // nothing to write
			{},
		} {
			if err := db.AddEntryCounts(ctx, n); err != nil {
				t.Fatalf("add %v: %v", n, err)
			}
		}
		got, err := db.EntryCounts(ctx, "2026-11-01")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got["2026-11-25"] != 7 || got["2026-11-26"] != 1 {
			t.Fatalf("entry counts %v, want 2026-11-25: 7, 2026-11-26: 1", got)
		}
		if got, _ := db.EntryCounts(ctx, "2026-11-26"); len(got) != 1 || got["2026-11-26"] != 1 {
			t.Fatalf("entry counts from 11-26: %v", got)
		}
		if n, err := db.PurgeEntryCounts(ctx, "2026-11-26"); err != nil || n != 1 {
			t.Fatalf("purge: %d %v, want 1 day", n, err)
		}
		if got, _ := db.EntryCounts(ctx, "2000-01-01"); len(got) != 1 || got["2026-11-26"] != 1 {
			t.Fatalf("after the purge: %v", got)
		}
	})
}

// TestConcurrentEntryFlushesAddUp: flushes from two goroutines (two
// instances) released together on the same days add up exactly.
func TestConcurrentEntryFlushesAddUp(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		const rounds = 50
		start := make(chan struct{})
		errs := make(chan error, 2*rounds)
		var wg sync.WaitGroup
		for g := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				for range rounds {
					errs <- db.AddEntryCounts(ctx, map[string]int64{"2026-11-25": int64(g + 1), "2026-11-26": 1})
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.EntryCounts(ctx, "2026-11-25")
		if err != nil {
			t.Fatal(err)
		}
		if got["2026-11-25"] != 3*rounds || got["2026-11-26"] != 2*rounds {
			t.Fatalf("entry counts %v, want 2026-11-25: %d, 2026-11-26: %d", got, 3*rounds, 2*rounds)
		}
	})
}
