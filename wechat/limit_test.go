package wechat_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"runtime"
	"sync"
	"testing"
	"time"

	"wxlogin/wechat"
)

// slowServer holds every request until the test closes release (or the
// client gives up on it), so a test decides when WeChat answers. It records
// the most requests it ever held at once and the connections it accepted.
type slowServer struct {
	srv     *httptest.Server
	arrived chan struct{} // one value per request, on arrival
	release chan struct{}

	mu          sync.Mutex
	cur, peak   int
	connections int
}

func newSlowServer(t *testing.T) *slowServer {
	t.Helper()
	s := &slowServer{arrived: make(chan struct{}, 100), release: make(chan struct{})}
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.cur++
		s.peak = max(s.peak, s.cur)
		s.mu.Unlock()
		s.arrived <- struct{}{}
		select {
		case <-s.release:
		case <-r.Context().Done():
		}
		s.mu.Lock()
		s.cur--
		s.mu.Unlock()
		_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
	}))
	s.srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.mu.Lock()
			s.connections++
			s.mu.Unlock()
		}
	}
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
}

func (s *slowServer) stats() (peak, connections int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, s.connections
}

// waitArrivals waits for n requests to reach the server.
func (s *slowServer) waitArrivals(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-s.arrived:
		case <-time.After(10 * time.Second):
			t.Fatal("a request never reached the server")
		}
	}
}

func (s *slowServer) client(mod func(*wechat.Config)) *wechat.Client {
	cfg := wechat.Config{AppID: "wxapp", Secret: "s3cr3t-value", APIURL: s.srv.URL,
		Timeout: 10 * time.Second, BreakerThreshold: -1}
	mod(&cfg)
	return wechat.New(cfg)
}

// eventually polls cond (without sleeping) until it holds, for state that
// no channel announces, such as a caller having joined the queue.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		runtime.Gosched()
	}
}

func wantOverloaded(t *testing.T, err error) {
	t.Helper()
	var ue *wechat.UnavailableError
	if !errors.Is(err, wechat.ErrOverloaded) || !errors.As(err, &ue) || !wechat.IsTemporary(err) {
		t.Fatalf("error = %v, want an *UnavailableError wrapping ErrOverloaded", err)
	}
	if _, ok := wechat.ErrCode(err); ok {
		t.Fatalf("error %v carries an errcode; callers must classify it as unavailable", err)
	}
}

// Issue 17, finding 3: with WeChat slow, many callers released together get
// at most MaxInFlight requests to WeChat, MaxQueued waiting, and everyone
// else ErrOverloaded at once, while WeChat still holds every request. When
// WeChat answers, the queued callers go through.
func TestLimiterCapsCallsAndRejectsBeyondTheQueue(t *testing.T) {
	const inFlight, queued, callers = 3, 2, 20
	s := newSlowServer(t)
	var mu sync.Mutex
	overloadObserved := 0
	c := s.client(func(cfg *wechat.Config) {
		cfg.MaxInFlight, cfg.MaxQueued = inFlight, queued
		cfg.Observe = func(_ string, code int, _ time.Duration) {
			if code == wechat.ErrCodeOverloaded {
				mu.Lock()
				overloadObserved++
				mu.Unlock()
			}
		}
	})

	start := make(chan struct{})
	results := make(chan error, callers)
	for range callers {
		go func() {
			<-start
			results <- c.CheckToken(context.Background(), "AT", "oOPENID")
		}()
	}
	close(start)

	s.waitArrivals(t, inFlight)
	for range callers - inFlight - queued {
		wantOverloaded(t, <-results) // while the server still holds everyone
	}
	if got, want := c.Load(), (wechat.Load{InFlight: inFlight, Waiting: queued, Rejected: callers - inFlight - queued}); got != want {
		t.Fatalf("Load() = %+v, want %+v", got, want)
	}

	close(s.release)
	for range inFlight + queued {
		if err := <-results; err != nil {
			t.Fatalf("admitted call failed: %v", err)
		}
	}
	if peak, _ := s.stats(); peak != inFlight {
		t.Fatalf("the server held %d requests at once, want at most (and here exactly) %d", peak, inFlight)
	}
	if overloadObserved != callers-inFlight-queued {
		t.Fatalf("Observe saw %d overloads, want %d", overloadObserved, callers-inFlight-queued)
	}
	if got := c.Load(); got.InFlight != 0 || got.Waiting != 0 {
		t.Fatalf("Load() after = %+v", got)
	}
}

// Callers who give up free their place: a cancelled waiter leaves the queue
// (the next caller queues instead of being refused), and a cancelled call in
// flight frees its slot for the next waiter.
func TestLimiterFreesThePlacesOfAbandonedCallers(t *testing.T) {
	s := newSlowServer(t)
	c := s.client(func(cfg *wechat.Config) { cfg.MaxInFlight, cfg.MaxQueued = 1, 1 })
	call := func(ctx context.Context) <-chan error {
		ch := make(chan error, 1)
		go func() { ch <- c.CheckToken(ctx, "AT", "oOPENID") }()
		return ch
	}

	ctxA, cancelA := context.WithCancel(context.Background())
	defer cancelA()
	a := call(ctxA)
	s.waitArrivals(t, 1) // A holds the slot

	ctxB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	b := call(ctxB)
	eventually(t, "B queued", func() bool { return c.Load().Waiting == 1 })

	wantOverloaded(t, c.CheckToken(context.Background(), "AT", "oOPENID")) // C: no room

	cancelB()
	errB := <-b
	var ue *wechat.UnavailableError
	if !errors.Is(errB, context.Canceled) || !errors.As(errB, &ue) || ue.Error() != "wechat auth: canceled" {
		t.Fatalf("cancelled waiter: %v, want an *UnavailableError wrapping context.Canceled", errB)
	}
	if w := c.Load().Waiting; w != 0 {
		t.Fatalf("the cancelled waiter still holds its queue place: Waiting = %d", w)
	}

	d := call(context.Background()) // D takes the place B left
	eventually(t, "D queued", func() bool { return c.Load().Waiting == 1 })

	cancelA() // A abandons its call in flight: D gets the slot
	if err := <-a; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned call: %v", err)
	}
	s.waitArrivals(t, 1)
	close(s.release)
	if err := <-d; err != nil {
		t.Fatalf("D after A's slot was freed: %v", err)
	}
	if got := c.Load(); got != (wechat.Load{Rejected: 1}) {
		t.Fatalf("Load() = %+v, want only C's rejection", got)
	}
}

// Issue 17, finding 3: the default transport opens at most MaxConnsPerHost
// connections to a WeChat host, even when the limiter lets more calls
// through; the others wait for a connection to come free.
func TestMaxConnsPerHost(t *testing.T) {
	const conns, calls = 2, 5
	s := newSlowServer(t)
	c := s.client(func(cfg *wechat.Config) { cfg.MaxInFlight, cfg.MaxConnsPerHost = 10, conns })

	var asked sync.WaitGroup // every call has asked the transport for a connection
	asked.Add(calls)
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GetConn: func(string) { asked.Done() },
	})
	results := make(chan error, calls)
	for range calls {
		go func() { results <- c.CheckToken(ctx, "AT", "oOPENID") }()
	}
	s.waitArrivals(t, conns)
	asked.Wait()
	close(s.release)
	for range calls {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	if peak, n := s.stats(); peak > conns || n > conns {
		t.Fatalf("%d requests held at once over %d connections, want at most %d", peak, n, conns)
	}
}
