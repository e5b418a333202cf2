package display

import (
	"testing"
	"time"
)

func TestTimeInBeijing(t *testing.T) {
	utc := time.Date(2026, 11, 21, 23, 30, 0, 0, time.UTC)
	if got := Time(utc, "2006-01-02 15:04"); got != "2026-11-22 07:30" {
		t.Fatalf("Time = %q, want the Beijing wall clock 2026-11-22 07:30", got)
	}
	if Time(time.Time{}, time.RFC3339) != "—" || TimePtr(nil, time.RFC3339) != "—" {
		t.Fatal("missing times must show as —")
	}
	if got := TimePtr(&utc, "15:04"); got != "07:30" {
		t.Fatalf("TimePtr = %q", got)
	}
}
