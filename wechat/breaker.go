package wechat

import (
	"context"
	"errors"
	"sync"
	"time"
)

// ErrBreakerOpen is the cause of an UnavailableError returned without
// calling WeChat, because WeChat failed many times in a row just before.
var ErrBreakerOpen = errors.New("circuit open")

// breaker stops calling WeChat for a cooldown after a run of consecutive
// temporary failures. During an outage every login would otherwise hold a
// goroutine, a connection and a browser for a full timeout; with the breaker
// they get the "WeChat is busy" page at once, and no code is spent.
type breaker struct {
	threshold int
	cooldown  time.Duration
	now       func() time.Time

	mu        sync.Mutex
	failures  int
	openUntil time.Time
}

// allow reports whether a call may go out now.
func (b *breaker) allow() bool {
	if b == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.now().Before(b.openUntil)
}

// record feeds a call's outcome: temporary failures count, anything else
// (a success, or an errcode about the request itself) closes the breaker.
func (b *breaker) record(err error) {
	if b == nil {
		return
	}
	if errors.Is(err, context.Canceled) {
		return // the caller gave up; says nothing about WeChat
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil || !IsTemporary(err) {
		b.failures = 0
		return
	}
	b.failures++
	if b.failures >= b.threshold {
		// Half-open after the cooldown: the next call is a probe; one more
		// failure re-opens at once because failures stays at the threshold.
		b.failures = b.threshold - 1
		b.openUntil = b.now().Add(b.cooldown)
	}
}
