package wechat

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// A waiter gives up after maxWait (the client's Timeout) even when its
// caller's context has no deadline, so no caller waits unboundedly.
func TestLimiterWaitIsBounded(t *testing.T) {
	l := newLimiter(1, 1, 20*time.Millisecond)
	if err := l.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer l.release()
	if err := l.acquire(context.Background()); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("acquire = %v, want ErrOverloaded after the bounded wait", err)
	}
	if n := l.rejected.Load(); n != 1 || len(l.queue) != 0 {
		t.Fatalf("rejected %d, queue %d", n, len(l.queue))
	}
}

// New wires the bounds with their defaults, so cmd/ and app/ need no change.
func TestNewAppliesConcurrencyDefaults(t *testing.T) {
	tests := []struct {
		name                      string
		cfg                       Config
		inFlight, queued, perHost int // inFlight 0: limiter disabled
	}{
		{"defaults", Config{}, DefaultMaxInFlight, DefaultMaxQueued, DefaultMaxConnsPerHost},
		{"set", Config{MaxInFlight: 8, MaxQueued: 4, MaxConnsPerHost: 6}, 8, 4, 6},
		{"no queue", Config{MaxQueued: -1}, DefaultMaxInFlight, 0, DefaultMaxConnsPerHost},
		{"no limiter", Config{MaxInFlight: -1}, 0, 0, DefaultMaxConnsPerHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(tt.cfg)
			if tt.inFlight == 0 {
				if c.limiter != nil {
					t.Fatal("limiter not disabled")
				}
			} else if cap(c.limiter.slots) != tt.inFlight || cap(c.limiter.queue) != tt.queued || c.limiter.maxWait != DefaultTimeout {
				t.Fatalf("limiter = %d/%d/%v", cap(c.limiter.slots), cap(c.limiter.queue), c.limiter.maxWait)
			}
			tr := c.hc.Transport.(*http.Transport)
			if tr.MaxConnsPerHost != tt.perHost || tr.MaxIdleConnsPerHost > tt.perHost {
				t.Fatalf("transport MaxConnsPerHost %d, MaxIdleConnsPerHost %d", tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost)
			}
		})
	}
}
