package models

import (
	"context"
	"sort"
	"strings"
)

// DayLayout is how entry_counts names a day: a Beijing calendar date.
const DayLayout = "2006-01-02"

// AddEntryCounts adds n[day] to each day's entry count (days as DayLayout)
// with a single INSERT … ON CONFLICT, so one flush is one statement and the
// table keeps one row per day whatever the traffic. Concurrent flushes from
// several instances add up: the conflicting row is locked and updated with
// its current value.
func (db *DB) AddEntryCounts(ctx context.Context, n map[string]int64) error {
	days := make([]string, 0, len(n))
	for d, v := range n {
		if v != 0 {
			days = append(days, d)
		}
	}
	if len(days) == 0 {
		return nil
	}
	// A stable order: two flushes touching the same days lock them in the
	// same order and cannot deadlock.
	sort.Strings(days)
	args := make([]any, 0, 2*len(days))
	for _, d := range days {
		args = append(args, d, n[d])
	}
	values := strings.TrimSuffix(strings.Repeat("(?, ?), ", len(days)), ", ")
	return db.Gorm.WithContext(ctx).Exec(`INSERT INTO entry_counts (day, entries) VALUES `+values+`
		ON CONFLICT (day) DO UPDATE SET entries = entry_counts.entries + excluded.entries`, args...).Error
}

// EntryCounts returns the entry count of each day from since on (DayLayout
// strings both ways); days without entries are absent.
func (db *DB) EntryCounts(ctx context.Context, since string) (map[string]int64, error) {
	var rows []struct {
		Day     string
		Entries int64
	}
	err := db.Gorm.WithContext(ctx).Raw(`SELECT CAST(day AS TEXT) AS day, entries FROM entry_counts
		WHERE day >= ? ORDER BY day`, since).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Day] = r.Entries
	}
	return out, nil
}

// PurgeEntryCounts deletes the days before `before` (DayLayout).
func (db *DB) PurgeEntryCounts(ctx context.Context, before string) (int64, error) {
	res := db.Gorm.WithContext(ctx).Exec(`DELETE FROM entry_counts WHERE day < ?`, before)
	return res.RowsAffected, res.Error
}
