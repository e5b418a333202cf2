package models

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"
	"time"
)

// TestListenerBackoffResetsAfterAGoodConnection: the pause before a reconnect
// doubles while attempts fail, and starts again from the minimum once a
// connection got as far as LISTEN. Without the reset, a listener that once
// backed off to the cap (Postgres down for a few seconds at start-up) waits
// the full cap after every later drop, however long the connection was good,
// and waiters meanwhile poll instead of being woken. The connection attempts
// and the clock are fakes: nothing sleeps.
func TestListenerBackoffResetsAfterAGoodConnection(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name      string
		connected []bool // the outcome of each attempt, in order; every attempt ends in an error
		want      []time.Duration
	}{
		{"failures double to the cap", []bool{false, false, false, false, false, false, false, false},
			[]time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 5000 * ms, 5000 * ms}},
		{"a good connection resets the backoff", []bool{false, false, false, false, false, false, true, false, false},
			[]time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 100 * ms, 200 * ms, 400 * ms}},
		{"drops of good connections retry quickly", []bool{true, true, true},
			[]time.Duration{100 * ms, 100 * ms, 100 * ms}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var paused []time.Duration
			n := 0
			l := NewListener("", slog.New(slog.DiscardHandler), func(string) {})
			l.attempt = func(context.Context) (bool, error) {
				if n == len(tt.connected) {
					cancel() // the script is over: Run must return
					return false, context.Canceled
				}
				n++
				return tt.connected[n-1], errors.New("connection lost")
			}
			l.pause = func(_ context.Context, d time.Duration) bool {
				paused = append(paused, d)
				return true
			}
			done := make(chan struct{})
			go func() { l.Run(ctx); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after its context ended")
			}
			if !slices.Equal(paused, tt.want) {
				t.Fatalf("pauses %v, want %v", paused, tt.want)
			}
		})
	}
}
