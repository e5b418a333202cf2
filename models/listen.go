package models

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
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

// The self-addressed probe: how often it is sent while LISTENing, and how
// long it may take to arrive before wake-ups count as not delivered.
const (
	probeEvery = 5 * time.Second
	probeWait  = 2 * time.Second
	// probePrefix starts a probe's payload; code hashes are hex, so no
	// payload of a real wake-up starts with it.
	probePrefix = "probe:"
)

// Listener turns Postgres NOTIFYs about finished exchanges into in-process
// wake-ups. It holds one dedicated connection and reconnects on failure;
// while it is down, waiters simply fall back to polling the row.
//
// A LISTEN that succeeded proves nothing: behind a transaction-mode pooler
// (PgBouncer) the LISTEN runs on some server connection that goes straight
// back to the pool, and the notifications never reach this client. So the
// listener never trusts a LISTEN that receives nothing. Every probeEvery it
// sends a NOTIFY addressed to itself (a fresh random payload) the way the
// app's wake-ups are sent — through the app's pool, so through the pooler
// if there is one — and counts as live only while its latest probe came back
// within probeWait. While it is not live, waiters poll at the fast rate.
// DATABASE_LISTEN_URL gives the listener a direct connection to Postgres,
// past the pooler, and then the probes arrive.
type Listener struct {
	url    string
	log    *slog.Logger
	notify func(key string)
	live   atomic.Bool
	// send delivers a NOTIFY payload on the exchange channel the way the
	// app's wake-ups travel; nil: the listener is never live.
	send func(ctx context.Context, payload string) error
	// probeEvery and probeWait default to the constants (tests shorten them).
	probeEvery, probeWait time.Duration
	awaiting              atomic.Value // string: the payload of the probe in flight
	heard                 chan string  // that payload, once received

	mu       sync.Mutex
	connErr  string // why the listener is not live, for /readyz
	reported bool   // a state has been logged once

	// attempt makes one connection and listens on it until it fails;
	// connected says whether it got as far as LISTEN. pause waits d between
	// attempts and reports false when ctx ended first. Tests replace both
	// (a connection that fails on demand, a clock that does not sleep).
	attempt func(ctx context.Context) (connected bool, err error)
	pause   func(ctx context.Context, d time.Duration) bool
}

// Live reports whether wake-ups are being delivered: the listener is
// LISTENing and its latest self-addressed probe arrived. Waiters poll less
// often while it says so.
func (l *Listener) Live() bool { return l.live.Load() }

// State describes the listener for /readyz: "live", or why it is not.
func (l *Listener) State() string {
	if l.Live() {
		return "live"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.connErr == "" {
		return "not live (starting)"
	}
	return "not live (" + l.connErr + ")"
}

func (l *Listener) setState(live bool, why string) {
	l.mu.Lock()
	first := !l.reported
	l.connErr, l.reported = why, true
	l.mu.Unlock()
	if l.live.Swap(live) != live || first {
		if live {
			l.log.Info("exchange wake-ups delivered (NOTIFY probe heard); waiters poll slowly")
		} else {
			l.log.Warn("exchange wake-ups not delivered; waiters poll at the fast rate", "why", why)
		}
	}
}

// NewListener returns a Listener that LISTENs at a Postgres URL and calls
// notify with each payload (a code hash); Run starts it. It is live only
// once ProbeWith gave it a way to send its probes and one came back.
func NewListener(url string, log *slog.Logger, notify func(key string)) *Listener {
	l := &Listener{url: url, log: log, notify: notify, pause: pause,
		probeEvery: probeEvery, probeWait: probeWait, heard: make(chan string, 1)}
	l.attempt = l.listen
	return l
}

// SetProbeTiming changes how often a probe is sent and how long it may take
// to arrive (tests shorten them). Call before Run.
func (l *Listener) SetProbeTiming(every, wait time.Duration) { l.probeEvery, l.probeWait = every, wait }

// ProbeWith sets how the probes are sent: the same way as the wake-ups
// (DB.Notify, through the app's pool). Call before Run.
func (l *Listener) ProbeWith(send func(ctx context.Context, payload string) error) { l.send = send }

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
	pctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); l.probe(pctx) }()
	defer func() {
		stop()
		wg.Wait()
		l.setState(false, "listener disconnected")
	}()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		if strings.HasPrefix(n.Payload, probePrefix) {
			// Only the probe being awaited counts: other instances' probes
			// and late ones of this instance are dropped here.
			if p, _ := l.awaiting.Load().(string); p == n.Payload {
				select {
				case l.heard <- n.Payload:
				default:
				}
			}
			continue
		}
		l.notify(n.Payload)
	}
}

// probe sends a self-addressed NOTIFY at once and then every probeEvery,
// and sets the listener live while each one comes back within probeWait.
func (l *Listener) probe(ctx context.Context) {
	if l.send == nil {
		l.setState(false, "no probe configured")
		return
	}
	for {
		payload := probePrefix + randomToken()
		l.awaiting.Store(payload)
		select { // a late copy of the previous probe must not fill the slot
		case <-l.heard:
		default:
		}
		sctx, cancel := context.WithTimeout(ctx, l.probeWait)
		err := l.send(sctx, payload)
		if err != nil {
			if ctx.Err() == nil {
				l.setState(false, "probe NOTIFY failed")
			}
		} else if l.await(sctx, payload) {
			l.setState(true, "")
		} else if ctx.Err() == nil {
			l.setState(false, "probe NOTIFY not received: LISTEN behind a transaction pooler? set DATABASE_LISTEN_URL")
		}
		cancel()
		if !pause(ctx, l.probeEvery) {
			return
		}
	}
}

// await reports whether payload arrives before ctx ends.
func (l *Listener) await(ctx context.Context, payload string) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case p := <-l.heard:
			if p == payload {
				return true
			}
		}
	}
}

func randomToken() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
