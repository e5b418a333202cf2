// Package entrycount counts the visits to /wechat/entry that start a login,
// per Beijing day, without a database row per visit.
//
// A visit to the entry is anonymous (WeChat says who it is only after the
// authorize page) and must cost the database nothing that grows per request
// (issue 17.4). So each instance counts in memory, one atomic counter per
// day, and a flusher adds the counts to the per-day table with one upsert
// every Interval and at shutdown: one row per day and one write per instance
// per Interval, whatever the traffic.
package entrycount

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"wxlogin/display"
	"wxlogin/models"
)

// Interval is how often Run flushes.
const Interval = 10 * time.Second

// Store is where the counts go: AddEntryCounts adds each day's count in one
// statement, all or nothing.
type Store interface {
	AddEntryCounts(ctx context.Context, n map[string]int64) error
}

type day struct {
	name string
	n    atomic.Int64
}

// Counter is an instance's unflushed entry counts. Its zero value is not
// usable; use New.
type Counter struct {
	store Store
	log   *slog.Logger
	cur   atomic.Pointer[day] // the newest day: Add's lock-free path

	mu   sync.Mutex // guards days and serialises flushes
	days map[string]*day
}

// New returns a counter flushing to store.
func New(store Store, log *slog.Logger) *Counter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Counter{store: store, log: log, days: map[string]*day{}}
}

// Add counts one entry at t (its Beijing day). Lock-free except for the
// first entry of a day.
func (c *Counter) Add(t time.Time) {
	name := t.In(display.Beijing()).Format(models.DayLayout)
	if d := c.cur.Load(); d != nil && d.name == name {
		d.n.Add(1)
		return
	}
	c.mu.Lock()
	d := c.days[name]
	if d == nil {
		d = &day{name: name}
		c.days[name] = d
	}
	if cur := c.cur.Load(); cur == nil || cur.name < name {
		c.cur.Store(d)
	}
	d.n.Add(1)
	c.mu.Unlock()
}

// Pending is the count not flushed yet, all days together.
func (c *Counter) Pending() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, d := range c.days {
		n += d.n.Load()
	}
	return n
}

// Flush adds the unflushed counts to the store in one statement. Each day's
// count is taken out before the write (entries arriving meanwhile stay for
// the next flush) and put back if the write fails, so a blip loses nothing
// and a successful write is never repeated. A write whose commit succeeded
// but whose answer was lost (the connection dropped after COMMIT) cannot be
// told from a failure and is counted again by the next flush.
func (c *Counter) Flush(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	taken := map[string]int64{}
	for name, d := range c.days {
		if n := d.n.Swap(0); n != 0 {
			taken[name] = n
		}
	}
	if len(taken) == 0 {
		c.forgetOld()
		return nil
	}
	if err := c.store.AddEntryCounts(ctx, taken); err != nil {
		for name, n := range taken {
			c.days[name].n.Add(n)
		}
		return err
	}
	c.forgetOld()
	return nil
}

// forgetOld drops emptied days two or more days older than the newest: no
// Add can still hold them (Add's lock-free path only touches the newest
// day). c.mu is held.
func (c *Counter) forgetOld() {
	cur := c.cur.Load()
	if cur == nil {
		return
	}
	t, err := time.Parse(models.DayLayout, cur.name)
	if err != nil {
		return
	}
	keep := t.AddDate(0, 0, -1).Format(models.DayLayout)
	for name, d := range c.days {
		if name < keep && d.n.Load() == 0 {
			delete(c.days, name)
		}
	}
}

// Run flushes every interval until ctx ends; the final flush is the
// caller's (Close), after the last request.
func (c *Counter) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fctx, cancel := context.WithTimeout(ctx, interval)
		if err := c.Flush(fctx); err != nil {
			c.log.Warn("flushing entry counts; kept for the next flush", "err", err, "pending", c.Pending())
		}
		cancel()
	}
}
