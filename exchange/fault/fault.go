// Package fault injects failures into the exactly-once gate's store and
// WeChat client, for tests that break the gate on purpose: a database that
// fails N times, an answer lost after the write committed, a call held at a
// barrier until the test releases it. Nothing here sleeps: a test decides
// when a held call goes on.
package fault

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
)

// Hook wraps one call. call performs the real operation on the context it
// is given; a hook may skip it (fail before), run it and report an error
// anyway (an answer lost after the commit), hold it until something
// happens, or run it on another context (an owner frozen past its deadline).
type Hook func(ctx context.Context, call func(context.Context) error) error

// ErrInjected is what the ready-made hooks fail with.
var ErrInjected = errors.New("fault: injected failure")

// Hooks is a set of hooks by method name; the zero value passes everything
// through. Safe for concurrent use.
type Hooks struct {
	mu    sync.Mutex
	hooks map[string][]Hook
	calls sync.Map // method -> *atomic.Int64
}

// On adds a hook to a method; hooks run in the order added, outermost first.
func (h *Hooks) On(method string, hook Hook) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hooks == nil {
		h.hooks = map[string][]Hook{}
	}
	h.hooks[method] = append(h.hooks[method], hook)
}

// Clear removes every hook of a method.
func (h *Hooks) Clear(method string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.hooks, method)
}

// Calls counts how often a method was called (hooked or not).
func (h *Hooks) Calls(method string) int64 {
	v, _ := h.calls.LoadOrStore(method, new(atomic.Int64))
	return v.(*atomic.Int64).Load()
}

// run applies the method's hooks around call.
func (h *Hooks) run(ctx context.Context, method string, call func(context.Context) error) error {
	v, _ := h.calls.LoadOrStore(method, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	h.mu.Lock()
	hooks := append([]Hook(nil), h.hooks[method]...)
	h.mu.Unlock()
	next := call
	for i := len(hooks) - 1; i >= 0; i-- {
		hook, inner := hooks[i], next
		next = func(ctx context.Context) error { return hook(ctx, inner) }
	}
	return next(ctx)
}

// FailFirst fails the first n calls without performing them.
func FailFirst(n int) Hook {
	var seen atomic.Int64
	return func(ctx context.Context, call func(context.Context) error) error {
		if seen.Add(1) <= int64(n) {
			return ErrInjected
		}
		return call(ctx)
	}
}

// LoseAnswer performs the first n calls and then reports a failure: what a
// client sees when the connection drops after the database committed.
func LoseAnswer(n int) Hook {
	var seen atomic.Int64
	return func(ctx context.Context, call func(context.Context) error) error {
		err := call(ctx)
		if seen.Add(1) <= int64(n) {
			return errors.Join(ErrInjected, err)
		}
		return err
	}
}

// Barrier holds calls until Release; Arrived is closed when the first call
// is waiting at it.
type Barrier struct {
	arrived  chan struct{}
	release  chan struct{}
	arriveOn sync.Once
	relOn    sync.Once
}

// NewBarrier returns a closed-door barrier.
func NewBarrier() *Barrier {
	return &Barrier{arrived: make(chan struct{}), release: make(chan struct{})}
}

// Arrived is closed once a call waits at the barrier.
func (b *Barrier) Arrived() <-chan struct{} { return b.arrived }

// Release lets every held and later call through.
func (b *Barrier) Release() { b.relOn.Do(func() { close(b.release) }) }

// Hook holds each call at the barrier (before performing it) until Release
// or the call's context ends.
func (b *Barrier) Hook() Hook {
	return func(ctx context.Context, call func(context.Context) error) error {
		b.arriveOn.Do(func() { close(b.arrived) })
		select {
		case <-b.release:
		case <-ctx.Done():
			return ctx.Err()
		}
		return call(ctx)
	}
}

// After runs fn after the call returns (e.g. to start a takeover while the
// caller's answer is on its way), then returns the call's error.
func After(fn func()) Hook {
	return func(ctx context.Context, call func(context.Context) error) error {
		err := call(ctx)
		fn()
		return err
	}
}
