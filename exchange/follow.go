package exchange

import (
	"context"
	"errors"
	"sync"
	"time"

	"wxlogin/models"
)

// follow resolves a request that does not own its code's exchange: it reads
// the row, waits until the row is final, takes over from a dead owner, or —
// when the state's live row vanished — claims its own code once.
func (g *Gate) follow(ctx context.Context, req Request, h hashes) (Result, error) {
	start := g.cfg.Now()
	ctx, cancel := context.WithTimeout(ctx, g.cfg.MaxWait)
	defer cancel()
	poll, pollMax := g.cfg.PollMin, g.cfg.PollMax
	if g.cfg.HintsLive != nil && g.cfg.HintsLive() {
		// NOTIFY will wake this waiter the moment the owner finishes; the
		// polls are only a safety net, so they need not load the database.
		poll, pollMax = poll*5, pollMax*4
	}
	waited := false
	var (
		subKey string
		wake   <-chan struct{}
		unsub  = func() {}
	)
	defer func() { unsub() }()
	for {
		row, err := g.store.ExchangeByCode(ctx, h.code)
		if errors.Is(err, models.ErrNotFound) {
			row, err = g.store.LiveExchangeByState(ctx, h.state)
		}
		switch {
		case errors.Is(err, models.ErrNotFound):
			if req.MayClaim && !req.reclaimed {
				// The state's earlier code failed or was abandoned: this
				// request's own code is still unspent, so claim it, once.
				req.reclaimed = true
				return g.Exchange(ctx, req)
			}
			g.cfg.Metrics.Event("unknown")
			return Result{}, ErrUnknown
		case err != nil:
			if ctx.Err() != nil {
				return Result{}, g.waitEnded(ctx)
			}
			return Result{}, &Failed{Kind: "store"}
		}
		if row.BrowserHash != h.browser {
			g.cfg.Metrics.Event("foreign")
			return Result{}, ErrForeign
		}
		switch row.Status {
		case models.StatusDone:
			g.cfg.Metrics.Waited("db", g.cfg.Now().Sub(start))
			res := Result{OpenID: deref(row.OpenID), Next: row.NextPath}
			if row.UserID != nil {
				res.UserID = *row.UserID
			}
			return g.duplicate(ctx, row.CodeHash, waited, res, nil)
		case models.StatusFailed:
			f := &Failed{Kind: deref(row.ErrorKind)}
			if row.ErrCode != nil {
				f.ErrCode = *row.ErrCode
			}
			return g.duplicate(ctx, row.CodeHash, waited, Result{}, f)
		}
		now := g.cfg.Now()
		if now.After(row.LeaseUntil) {
			if res, err, done := g.rescue(ctx, req, h, row, now); done {
				return res, err
			}
		}
		waited = true
		if subKey != row.CodeHash {
			unsub()
			subKey = row.CodeHash
			wake, unsub = g.hub.subscribe(subKey)
			continue // re-read once subscribed, so a wake-up between the read and now is not lost
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return Result{}, g.waitEnded(ctx)
		case <-wake:
			t.Stop()
		case <-t.C:
			poll = min(poll*2, pollMax)
		}
	}
}

// rescue handles a pending row whose owner's lease ran out.
func (g *Gate) rescue(ctx context.Context, req Request, h hashes, row *models.CodeExchange, now time.Time) (Result, error, bool) {
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.cfg.OwnerTimeout)
	defer cancel()
	if row.CodeHash == h.code {
		won, err := g.store.TakeOverExchange(octx, h.code, g.cfg.Instance, now, now.Add(g.cfg.Lease))
		if err != nil || !won {
			return Result{}, nil, false // another waiter won; keep waiting for it
		}
		g.cfg.Metrics.Event("takeover")
		g.cfg.Logger.WarnContext(ctx, "took over an exchange whose owner vanished", "previous_owner", row.Owner)
		res, err := g.own(octx, req, h, row)
		g.hub.publish(h.code)
		return res, err, true
	}
	// A dead owner of another code of this state: retire its row so that
	// this request's own, unspent code can be claimed on the next read.
	if ok, err := g.store.AbandonExchange(octx, row.CodeHash, now); err == nil && ok {
		g.cfg.Metrics.Event("abandoned")
	}
	return Result{}, nil, false
}

func (g *Gate) waitEnded(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		g.cfg.Metrics.Event("timeout")
		return ErrWaitTimeout
	}
	return ctx.Err()
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
