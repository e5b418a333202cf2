package models

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Listener turns Postgres NOTIFYs about finished exchanges into in-process
// wake-ups. It holds one dedicated connection and reconnects on failure;
// while it is down, waiters simply fall back to polling the row.
type Listener struct {
	url    string
	log    *slog.Logger
	notify func(key string)
	live   atomic.Bool
}

// Live reports whether the listener is connected and LISTENing, so that
// waiters can poll less often while wake-ups are being delivered.
func (l *Listener) Live() bool { return l.live.Load() }

// NewListener returns a Listener for a Postgres URL that calls notify with
// each payload (a code hash); Run starts it.
func NewListener(url string, log *slog.Logger, notify func(key string)) *Listener {
	return &Listener{url: url, log: log, notify: notify}
}

// Run listens until ctx ends, reconnecting with a capped backoff.
func (l *Listener) Run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := l.listen(ctx)
		if ctx.Err() != nil {
			return
		}
		l.log.Warn("exchange listener disconnected; waiters poll meanwhile", "err", err, "retry_in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (l *Listener) listen(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.Connect(cctx, l.url)
	cancel()
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	l.live.Store(true)
	defer l.live.Store(false)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		l.notify(n.Payload)
	}
}
