package entrycount_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wxlogin/display"
	"wxlogin/entrycount"
	"wxlogin/models"
	"wxlogin/testdb"
)

// failing is the real store, made to fail its next write on demand.
type failing struct {
	*models.DB
	fail atomic.Bool
}

func (f *failing) AddEntryCounts(ctx context.Context, n map[string]int64) error {
	if f.fail.CompareAndSwap(true, false) {
		return errors.New("database unavailable")
	}
	return f.DB.AddEntryCounts(ctx, n)
}

func count(t *testing.T, db *models.DB, day string) int64 {
	t.Helper()
	got, err := db.EntryCounts(context.Background(), day)
	if err != nil {
		t.Fatal(err)
	}
	return got[day]
}

// TestFlushFailureKeepsTheCount: a failed flush loses nothing and the next
// one writes the count once, together with what came in between.
func TestFlushFailureKeepsTheCount(t *testing.T) {
	db := &failing{DB: testdb.Open(t)}
	c := entrycount.New(db, nil)
	at := time.Date(2026, 11, 25, 23, 30, 0, 0, display.Beijing())
	for range 5 {
		c.Add(at)
	}
	db.fail.Store(true)
	if err := c.Flush(context.Background()); err == nil {
		t.Fatal("the failing flush reported no error")
	}
	if got := c.Pending(); got != 5 {
		t.Fatalf("after a failed flush %d pending, want 5", got)
	}
	if got := count(t, db.DB, "2026-11-25"); got != 0 {
		t.Fatalf("the failed flush wrote %d", got)
	}
	c.Add(at)
	c.Add(at.Add(time.Hour)) // past midnight in Beijing: the next day
	for range 2 {            // the second flush has nothing left to write
		if err := c.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if got, next := count(t, db.DB, "2026-11-25"), count(t, db.DB, "2026-11-26"); got != 6 || next != 1 {
		t.Fatalf("after the retry: %d on 11-25 and %d on 11-26, want 6 and 1", got, next)
	}
	if got := c.Pending(); got != 0 {
		t.Fatalf("%d still pending", got)
	}
}

// TestAddsRacingFlushesAllArrive: entries counted by many goroutines while
// flushes run (some failing) all reach the table, none twice.
func TestAddsRacingFlushesAllArrive(t *testing.T) {
	db := &failing{DB: testdb.Open(t)}
	c := entrycount.New(db, nil)
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, display.Beijing())
	const adders, each = 16, 500
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range adders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range each {
				c.Add(at)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	close(start)
	for i := 0; ; i++ {
		db.fail.Store(i%3 == 0)
		_ = c.Flush(context.Background())
		select {
		case <-done:
		default:
			continue
		}
		break
	}
	db.fail.Store(false)
	if err := c.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := count(t, db.DB, "2026-11-25"); got != adders*each {
		t.Fatalf("%d entries in the table, want %d", got, adders*each)
	}
}
