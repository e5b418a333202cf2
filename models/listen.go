package models

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// The listener's reconnect backoff: the first retry after a failure comes
// quickly (a Postgres restart is usually short), later ones back off to a cap.
const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 5 * time.Second
)

// Listener turns Postgres NOTIFYs about finished exchanges into in-process
// wake-ups. It holds one dedicated connection and reconnects on failure;
// while it is down, waiters simply fall back to polling the row.
type Listener struct {
	url    string
	log    *slog.Logger
	notify func(key string)
	live   atomic.Bool

	// attempt makes one connection and listens on it until it fails;
	// connected says whether it got as far as LISTEN. pause waits d between
	// attempts and reports false when ctx ended first. Tests replace both
	// (a connection that fails on demand, a clock that does not sleep).
	attempt func(ctx context.Context) (connected bool, err error)
	pause   func(ctx context.Context, d time.Duration) bool
}

// Live reports whether the listener is connected and LISTENing, so that
// waiters can poll less often while wake-ups are being delivered.
func (l *Listener) Live() bool { return l.live.Load() }

// NewListener returns a Listener for a Postgres URL that calls notify with
// each payload (a code hash); Run starts it.
func NewListener(url string, log *slog.Logger, notify func(key string)) *Listener {
	l := &Listener{url: url, log: log, notify: notify, pause: pause}
	l.attempt = l.listen
	return l
}

// Run listens until ctx ends, reconnecting with a capped backoff. The backoff
// grows only over consecutive failed attempts: a connection that got as far
// as LISTEN resets it, so a drop hours after a bad start is retried at once
// rather than after the cap.
func (l *Listener) Run(ctx context.Context) {
	backoff := listenBackoffMin
	for ctx.Err() == nil {
		connected, err := l.attempt(ctx)
		if ctx.Err() != nil {
			return
		}
		if connected {
			backoff = listenBackoffMin
		}
		l.log.Warn("exchange listener disconnected; waiters poll meanwhile", "err", err, "retry_in", backoff)
		if !l.pause(ctx, backoff) {
			return
		}
		backoff = min(backoff*2, listenBackoffMax)
	}
}

// pause sleeps d unless ctx ends first.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (l *Listener) listen(ctx context.Context) (connected bool, err error) {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	conn, err := pgx.Connect(cctx, l.url)
	cancel()
	if err != nil {
		return false, err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return false, err
	}
	l.live.Store(true)
	defer l.live.Store(false)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		l.notify(n.Payload)
	}
}
