package app

import (
	"context"
	"math/rand/v2"
	"time"

	"wxlogin/display"
	"wxlogin/models"
	"wxlogin/push"
)

// housekeeping purges expired sessions and old audit rows on a schedule.
// Every instance runs it; the DELETEs are idempotent, so that is safe, and
// the jitter keeps instances from running in lockstep.
func (a *App) housekeeping(ctx context.Context) {
	for {
		wait := 10*time.Minute + time.Duration(rand.Int64N(int64(2*time.Minute)))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		a.PurgeOnce(ctx)
	}
}

// PurgeOnce runs one housekeeping pass.
func (a *App) PurgeOnce(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	now := time.Now()
	n, err := a.DB.PurgeExpiredSessions(ctx, now, a.Config.SessionIdle)
	if err != nil {
		a.Log.Warn("purging sessions", "err", err)
	}
	m, err := a.DB.PurgeOld(ctx, now.AddDate(0, 0, -a.Config.RetentionDays))
	if err != nil {
		a.Log.Warn("purging old rows", "err", err)
	}
	// A pending row whose lease ran out long ago belongs to an owner that
	// died with no duplicate left to take over; its code expired after five
	// minutes anyway. Close it so nothing stays pending forever.
	k, err := a.DB.AbandonStale(ctx, now.Add(-10*time.Minute))
	if err != nil {
		a.Log.Warn("closing stale exchanges", "err", err)
	}
	// QR login tickets that logged nobody in are of no use after a day;
	// the used ones are the login log and are kept like exchanges.
	q, err := a.DB.PurgeQRLogins(ctx, now.AddDate(0, 0, -1), now.AddDate(0, 0, -a.Config.RetentionDays))
	if err != nil {
		a.Log.Warn("purging QR login tickets", "err", err)
	}
	// Pushes go with the other rows after the retention period; nonces are
	// only needed while a delivery's timestamp is still accepted.
	p, err := a.DB.PurgePushes(ctx, now.AddDate(0, 0, -a.Config.RetentionDays), now.Add(-3*push.MaxSkew))
	if err != nil {
		a.Log.Warn("purging pushes", "err", err)
	}
	// Entry counts are per Beijing day; a day goes when its last moment is
	// older than the retention period.
	ec, err := a.DB.PurgeEntryCounts(ctx, now.AddDate(0, 0, -a.Config.RetentionDays).In(display.Beijing()).Format(models.DayLayout))
	if err != nil {
		a.Log.Warn("purging entry counts", "err", err)
	}
	if n+m+k+q+p+ec > 0 {
		a.Log.Info("housekeeping", "sessions_purged", n, "rows_purged", m, "stale_exchanges_closed", k, "qr_tickets_purged", q, "pushes_purged", p, "entry_days_purged", ec)
	}
}
