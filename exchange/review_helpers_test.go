package exchange_test

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"wxlogin/exchange"
	"wxlogin/exchange/fault"
	"wxlogin/models"
	"wxlogin/tokencrypt"
)

// faulty is one instance's gate with fault layers around its store and
// WeChat client.
type faulty struct {
	gate  *exchange.Gate
	store *fault.Store
	wx    *fault.WeChat
}

// faultyGate builds a gate named instance over w's database and simulator.
func (w *world) faultyGate(t *testing.T, instance string, cfg exchange.Config) *faulty {
	t.Helper()
	sealer, err := tokencrypt.New([][]byte{make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	f := &faulty{store: &fault.Store{Inner: w.db}, wx: &fault.WeChat{Inner: w.wx}}
	cfg.Instance = instance
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 10 * time.Second
	}
	f.gate = exchange.New(f.store, f.wx, sealer, cfg)
	return f
}

// sqliteWorld is newWorld on an embedded SQLite file instead of Postgres:
// the same queries run there with the process's clock as the database's.
func sqliteWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t)
	db, err := models.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "gate.db"), "", models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.db = db
	return w
}

// bothDialects runs a test on Postgres and on SQLite.
func bothDialects(t *testing.T, test func(t *testing.T, w *world)) {
	t.Run("postgres", func(t *testing.T) { test(t, newWorld(t)) })
	t.Run("sqlite", func(t *testing.T) { test(t, sqliteWorld(t)) })
}

// signalAfter is a hook that closes ch after the n-th call (and passes
// every call through): a test waits on ch instead of sleeping.
func signalAfter(n int64, ch chan struct{}) fault.Hook {
	var seen atomic.Int64
	return func(ctx context.Context, call func(context.Context) error) error {
		err := call(ctx)
		if seen.Add(1) == n {
			close(ch)
		}
		return err
	}
}

// ignoringContext holds a call at barrier b whatever its context says and
// then performs it on a fresh context: an owner frozen (a GC pause, a
// stopped VM) past its deadline, which is what fencing is for.
func ignoringContext(b *fault.Barrier) fault.Hook {
	var arrived atomic.Bool
	return func(ctx context.Context, call func(context.Context) error) error {
		if arrived.CompareAndSwap(false, true) {
			return b.Hook()(context.Background(), call)
		}
		return call(ctx)
	}
}

// await fails the test if ch is not closed within a generous bound.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// async runs an Exchange in a goroutine and returns its outcome channel.
type outcome struct {
	res exchange.Result
	err error
}

func async(g *exchange.Gate, req exchange.Request) <-chan outcome {
	ch := make(chan outcome, 1)
	go func() {
		res, err := g.Exchange(context.Background(), req)
		ch <- outcome{res, err}
	}()
	return ch
}

func recv(t *testing.T, ch <-chan outcome) outcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(30 * time.Second):
		t.Fatal("an exchange never returned")
		return outcome{}
	}
}

func mustCode(t *testing.T, w *world, user string) string {
	t.Helper()
	code, err := w.sim.IssueCode(user, "snsapi_userinfo")
	if err != nil {
		t.Fatal(err)
	}
	return code
}
