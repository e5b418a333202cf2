package app

import (
	"context"
	"net/http"
	"testing"
	"time"

	"wxlogin/display"
	"wxlogin/models"
)

func beijingDay(t time.Time) string { return t.In(display.Beijing()).Format(models.DayLayout) }

func entryCount(t *testing.T, in *instance, day string) int64 {
	t.Helper()
	got, err := in.App.DB.EntryCounts(context.Background(), day)
	if err != nil {
		t.Fatal(err)
	}
	return got[day]
}

// TestEntriesCountedWithoutRows: N entries that start a login, then a flush,
// make the day's count N — in one entry_counts row, with no session row (the
// issue 17.4 guarantee stays). Visits that do not go on to WeChat are not
// entries.
func TestEntriesCountedWithoutRows(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	const n = 200
	for i := range n {
		if p := rawDo(t, http.MethodGet, in.URL+"/wechat/entry?next=/profile", "", nil, nil); p.Status != http.StatusFound {
			t.Fatalf("entry %d: %d", i, p.Status)
		}
	}
	for _, tt := range []struct {
		name, query, ua string
		want            int
	}{
		{"duplicated parameter", "?next=/a&next=/b", androidUA, http.StatusBadRequest},
		{"another browser", "", "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0", http.StatusOK},
	} {
		if p := rawDo(t, http.MethodGet, in.URL+"/wechat/entry"+tt.query, "", nil, http.Header{"User-Agent": {tt.ua}}); p.Status != tt.want {
			t.Fatalf("%s: %d, want %d", tt.name, p.Status, tt.want)
		}
	}
	if err := in.App.Entries.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := entryCount(t, in, beijingDay(time.Now())); got != n {
		t.Fatalf("today's entries %d, want %d", got, n)
	}
	if rows, _ := sessionTable(t, in); rows != 0 {
		t.Fatalf("%d entries wrote %d session rows, want none", n, rows)
	}
	var days int64
	if err := in.App.DB.Gorm.Raw(`SELECT count(*) FROM entry_counts`).Scan(&days).Error; err != nil || days != 1 {
		t.Fatalf("%d entry_counts rows (%v), want 1", days, err)
	}
}

// TestCloseFlushesEntries: the entries counted since the last flush are
// written when the instance closes (shutdown), not lost.
func TestCloseFlushesEntries(t *testing.T) {
	e := newEnv(t)
	a := e.start("a", nil, Options{})
	b := newBrowser(t)
	for range 3 {
		b.entry(a, "/profile")
	}
	a.Srv.Close()
	if err := a.App.Close(); err != nil {
		t.Fatal(err)
	}
	other := e.start("b", nil, Options{})
	if got := entryCount(t, other, beijingDay(time.Now())); got != 3 {
		t.Fatalf("after Close %d entries stored, want 3", got)
	}
}

// TestHousekeepingPurgesOldEntryDays: days older than RETENTION_DAYS go with
// the other rows; recent days stay.
func TestHousekeepingPurgesOldEntryDays(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	now := time.Now()
	old, recent := beijingDay(now.AddDate(0, 0, -in.App.Config.RetentionDays-1)), beijingDay(now.AddDate(0, 0, -1))
	if err := in.App.DB.AddEntryCounts(context.Background(), map[string]int64{old: 5, recent: 7}); err != nil {
		t.Fatal(err)
	}
	in.App.PurgeOnce(t.Context())
	got, err := in.App.DB.EntryCounts(context.Background(), "2000-01-01")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[recent] != 7 {
		t.Fatalf("entry days after housekeeping: %v, want only %s: 7", got, recent)
	}
}
