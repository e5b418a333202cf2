package exchange

import (
	"context"
	"errors"
	"sync"
	"time"

	"wxlogin/models"
)

// waiter resolves one request: it claims the request's code when it may,
// otherwise waits for the code's owner — in-process on the flight, across
// instances on the row — takes over from a dead owner, or waits for another
// code of the same state to finish before claiming its own.
type waiter struct {
	g      *Gate
	req    Request
	h      hashes
	start  time.Time
	claims int
	claim  bool  // nothing known stands in the way of claiming the code now
	seen   bool  // the request's own row has been read once
	waited bool  // it had to wait for the owner
	retry  error // the last failed database read, retried until the budget ends

	poll, pollMax time.Duration
	subKey        string
	wake          <-chan struct{}
	unsub         func()
}

func (w *waiter) unsubscribe() {
	if w.unsub != nil {
		w.unsub()
	}
}

// run is the loop; every branch either answers or waits and comes back.
func (w *waiter) run(ctx context.Context) (Result, error) {
	g, h := w.g, w.h
	w.poll, w.pollMax = g.cfg.PollMin, g.cfg.PollMax
	if g.cfg.HintsLive != nil && g.cfg.HintsLive() {
		// NOTIFY will wake this waiter the moment the owner finishes; the
		// polls are only a safety net, so they need not load the database.
		w.poll, w.pollMax = w.poll*5, w.pollMax*4
	}
	for {
		if ctx.Err() != nil {
			return Result{}, w.ended(ctx)
		}
		// Same instance first: a flight answers in microseconds.
		if f := g.flightOf(h); f != nil {
			if f.h.browser != h.browser {
				g.cfg.Metrics.Event("foreign")
				return Result{}, ErrForeign
			}
			ticket := 0
			if f.h.code == h.code {
				ticket = g.join(f)
			}
			select {
			case <-f.done:
			case <-ctx.Done():
				return Result{}, w.ended(ctx)
			}
			if f.h.code == h.code && f.owned {
				g.cfg.Metrics.Waited("local", g.cfg.Now().Sub(w.start))
				return g.duplicate(ctx, h.code, true, ticket <= f.counted, f.res, f.err)
			}
			// Another code of this state finished here, or the flight has no
			// result to share: the rows say what happens next.
			w.waited = w.waited || f.h.code == h.code
			w.claim = f.h.code != h.code
		} else if w.claim && w.req.MayClaim && w.claims < maxClaims {
			w.claims++
			w.claim = false
			if res, err, ok := g.claim(ctx, w.req, h); ok {
				return res, err
			}
		}
		res, err, done := w.consult(ctx)
		if done {
			return res, err
		}
	}
}

// consult reads the rows once and either answers (done) or has waited for
// the next change (a wake-up or a poll) and asks to be called again.
func (w *waiter) consult(ctx context.Context) (Result, error, bool) {
	g, h := w.g, w.h
	row, err := g.store.ExchangeByCode(ctx, h.code)
	switch {
	case errors.Is(err, models.ErrNotFound):
		return w.byState(ctx)
	case err != nil:
		return w.pause(ctx, "", err)
	}
	if row.BrowserHash != h.browser {
		g.cfg.Metrics.Event("foreign")
		return Result{}, ErrForeign, true
	}
	if row.StateHash != h.state {
		// WeChat sends a code back with the state it was issued for; a code
		// presented with another state is a forged pair.
		g.cfg.Metrics.Event("unknown")
		return Result{}, ErrUnknown, true
	}
	if w.req.kind() != KindWeb && row.Age > g.cfg.CodeLifetime {
		// A mini program code is its own binding only while WeChat would
		// still take it: a replay after that gets nothing, not even a
		// WeChat call (see KindMini).
		g.cfg.Metrics.Event("expired")
		return Result{}, ErrExpired, true
	}
	if !w.seen {
		w.seen = true
		if !w.req.MayClaim && row.Age > g.cfg.JoinWindow {
			// The browser's session no longer holds this state (its login
			// renewed it), and the exchange is not seconds old: a session id
			// from before a login never joins it later.
			g.cfg.Metrics.Event("unknown")
			return Result{}, ErrUnknown, true
		}
	}
	switch row.Status {
	case models.StatusDone:
		return w.done(ctx, row)
	case models.StatusFailed:
		f := &Failed{Kind: deref(row.ErrorKind)}
		if row.ErrCode != nil {
			f.ErrCode = *row.ErrCode
		}
		res, err := g.duplicate(ctx, row.CodeHash, w.waited, false, Result{}, f)
		return res, err, true
	}
	if row.LeaseExpired {
		if res, err, done := w.takeOver(ctx, row); done {
			return res, err, true
		}
	}
	w.waited = true
	return w.pause(ctx, row.CodeHash, nil)
}

// done answers with a finished row's login, as the user stands now: a
// user disabled or deleted since is not logged in by a duplicate either.
func (w *waiter) done(ctx context.Context, row *models.CodeExchange) (Result, error, bool) {
	g := w.g
	if row.UserID == nil || !row.UserExists {
		// The user was deleted since; a fresh login makes a fresh user.
		return Result{}, &Failed{Kind: "abandoned"}, true
	}
	g.cfg.Metrics.Waited("db", g.cfg.Now().Sub(w.start))
	res := Result{UserID: *row.UserID, OpenID: deref(row.OpenID), UnionID: deref(row.UserUnionID), Next: row.NextPath, Disabled: row.UserDisabled}
	res, rerr := g.duplicate(ctx, row.CodeHash, w.waited, false, res, nil)
	return res, rerr, true
}

// byState handles a code with no row: another code of its state is in
// flight (wait for it), used the state up (restart), or nothing stands in
// the way and the request may claim its code — if its session holds the
// state, or its browser started this state's login seconds ago.
func (w *waiter) byState(ctx context.Context) (Result, error, bool) {
	g, h := w.g, w.h
	rows, err := g.store.ExchangesByState(ctx, h.state)
	if err != nil {
		return w.pause(ctx, "", err)
	}
	recent := false
	for i := range rows {
		r := &rows[i]
		if r.BrowserHash != h.browser {
			g.cfg.Metrics.Event("foreign")
			return Result{}, ErrForeign, true
		}
		if r.Status == models.StatusFailed && (deref(r.ErrorKind) == models.KindRejected || deref(r.ErrorKind) == models.KindMismatch) {
			// One rejected code per state: the login restarts with a new one.
			g.cfg.Metrics.Event("spent")
			return Result{}, &Failed{Kind: models.KindRejected}, true
		}
		if r.Status == models.StatusPending {
			if r.LeaseExpired {
				// A dead owner of another code of this state: retire its
				// row, so that this request's own, unspent code can be claimed.
				if ok, err := g.store.AbandonExchange(ctx, r.CodeHash); err == nil && ok {
					g.cfg.Metrics.Event("abandoned")
				}
				w.claim = true
				return Result{}, nil, false
			}
			return w.pause(ctx, r.CodeHash, nil)
		}
		recent = recent || r.Age <= g.cfg.JoinWindow
	}
	if !w.req.MayClaim && recent {
		// Android's second code, after the first one's login renewed the
		// session: WeChat verifies this code like any other, and the claim
		// makes sure it logs in the same person as the first.
		g.cfg.Metrics.Event("late")
		w.req.MayClaim = true
	}
	if w.req.MayClaim && w.claims < maxClaims {
		w.claim = true
		return Result{}, nil, false
	}
	g.cfg.Metrics.Event("unknown")
	return Result{}, ErrUnknown, true
}

// takeOver handles the request's own pending row whose lease ran out on
// the database's clock: one waiter wins the row with a new fence and
// exchanges the code itself.
func (w *waiter) takeOver(ctx context.Context, row *models.CodeExchange) (Result, error, bool) {
	g, h := w.g, w.h
	octx := context.WithoutCancel(ctx)
	at := time.Now()
	tctx, cancel := context.WithTimeout(octx, g.cfg.OwnerTimeout)
	fence, won, err := g.store.TakeOverExchange(tctx, h.code, g.owner, g.cfg.Lease)
	cancel()
	if err != nil || !won {
		return Result{}, nil, false // another waiter won; keep waiting for it
	}
	g.cfg.Metrics.Event("takeover")
	g.cfg.Logger.WarnContext(ctx, "took over an exchange whose owner vanished", "previous_owner", row.Owner)
	prior := ""
	if rows, err := g.store.ExchangesByState(octx, h.state); err == nil {
		prior = doneOpenID(rows, h.code)
	}
	res, err, lost := g.own(octx, w.req, h, nil, fence, at, row.NextPath, prior)
	g.hub.publish(h.code)
	if lost {
		return Result{}, nil, false
	}
	return res, err, true
}

// pause waits for a wake-up of key (a code hash) or the next poll. A failed
// read is remembered and retried: a Postgres blip must not end a wait whose
// owner is about to log the person in.
func (w *waiter) pause(ctx context.Context, key string, readErr error) (Result, error, bool) {
	g := w.g
	if ctx.Err() != nil {
		// The read failed because the budget ended, not the database.
		return Result{}, w.ended(ctx), true
	}
	w.retry = readErr
	if readErr != nil {
		g.cfg.Logger.WarnContext(ctx, "reading an exchange failed; retrying", "err", readErr)
	}
	if key != "" && w.subKey != key {
		w.unsubscribe()
		w.subKey = key
		w.wake, w.unsub = g.hub.subscribe(key)
		return Result{}, nil, false // re-read once subscribed, so a wake-up between the read and now is not lost
	}
	t := time.NewTimer(w.poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return Result{}, w.ended(ctx), true
	case <-w.wake:
	case <-t.C:
		w.poll = min(w.poll*2, w.pollMax)
	}
	return Result{}, nil, false
}

// ended names why the budget ran out: the database kept failing (503
// unavailable), or the owner did not finish (503 busy), or the browser left.
func (w *waiter) ended(ctx context.Context) error {
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ctx.Err()
	}
	w.g.cfg.Metrics.Event("timeout")
	if w.retry != nil {
		return &Failed{Kind: "store"}
	}
	return ErrWaitTimeout
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// hub fans wake-ups for a code hash out to the waiters on this instance.
type hub struct {
	mu   sync.Mutex
	subs map[string]map[chan struct{}]struct{}
}

func (hb *hub) subscribe(key string) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	hb.mu.Lock()
	m := hb.subs[key]
	if m == nil {
		m = map[chan struct{}]struct{}{}
		hb.subs[key] = m
	}
	m[ch] = struct{}{}
	hb.mu.Unlock()
	return ch, func() {
		hb.mu.Lock()
		delete(hb.subs[key], ch)
		if len(hb.subs[key]) == 0 {
			delete(hb.subs, key)
		}
		hb.mu.Unlock()
	}
}

func (hb *hub) publish(key string) {
	hb.mu.Lock()
	for ch := range hb.subs[key] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	hb.mu.Unlock()
}
