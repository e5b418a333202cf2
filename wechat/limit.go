package wechat

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// ErrOverloaded is the cause of an UnavailableError returned without calling
// WeChat because this client already had Config.MaxInFlight calls out and
// Config.MaxQueued callers waiting for one, or because a caller waited
// Config.Timeout for a slot in vain. Like ErrBreakerOpen it carries no
// errcode, so callers show their "WeChat is busy, try again" page; unlike
// a timeout it guarantees the request (and its code) never left the process.
var ErrOverloaded = errors.New("too many concurrent WeChat calls")

// limiter bounds the calls this client has in flight to WeChat and the
// callers waiting for one. Without it a slow WeChat turns every abandoned
// callback into a held connection and a few goroutines (issue 17: 2,000
// callbacks, 2,000 connections, ~6,000 goroutines); with it the cost of a
// slow WeChat is at most MaxInFlight connections and MaxQueued waiters, and
// everyone beyond is told "busy" at once.
//
// Both bounds are buffered channels used as counting semaphores: a call
// holds a token in slots while its HTTP attempt runs, a waiter holds one in
// queue while it waits for a slot. Blocked senders on a channel are served
// in order, so a freed slot goes to the longest waiter.
type limiter struct {
	slots    chan struct{}
	queue    chan struct{}
	maxWait  time.Duration
	rejected atomic.Uint64
}

func newLimiter(inFlight, queued int, maxWait time.Duration) *limiter {
	return &limiter{
		slots:   make(chan struct{}, inFlight),
		queue:   make(chan struct{}, max(queued, 0)),
		maxWait: maxWait,
	}
}

// acquire takes a slot, waiting if all are taken and the queue has room,
// until ctx ends or maxWait passes. It returns ErrOverloaded when the queue
// is full or the wait ran out, ctx.Err() when the caller gave up; only on
// nil must the caller release. A nil limiter admits everything.
func (l *limiter) acquire(ctx context.Context) error {
	if l == nil {
		return nil
	}
	select {
	case l.slots <- struct{}{}:
		return nil
	default:
	}
	select {
	case l.queue <- struct{}{}:
	default:
		l.rejected.Add(1)
		return ErrOverloaded
	}
	defer func() { <-l.queue }()
	t := time.NewTimer(l.maxWait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		l.rejected.Add(1)
		return ErrOverloaded
	}
}

// release frees the slot taken by a successful acquire.
func (l *limiter) release() {
	if l != nil {
		<-l.slots
	}
}

// Load is a snapshot of the client's concurrency limiter, for gauges: the
// metrics package can export it without this package importing Prometheus.
type Load struct {
	InFlight int    // calls to WeChat running now
	Waiting  int    // callers waiting for a slot
	Rejected uint64 // calls refused with ErrOverloaded since New
}

// Load reports the limiter's state; all zero when the limiter is disabled.
func (c *Client) Load() Load {
	l := c.limiter
	if l == nil {
		return Load{}
	}
	return Load{InFlight: len(l.slots), Waiting: len(l.queue), Rejected: l.rejected.Load()}
}
