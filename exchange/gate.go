package exchange

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"wxlogin/models"
	"wxlogin/wechat"
)

// WeChat is the part of the WeChat client the gate calls.
type WeChat interface {
	ExchangeCode(ctx context.Context, code string) (*wechat.Token, error)
	UserInfo(ctx context.Context, accessToken, openid, lang string) (*wechat.UserInfo, error)
}

// Store is the part of the database the gate uses.
type Store interface {
	ClaimExchange(ctx context.Context, row *models.CodeExchange) (bool, error)
	ExchangeByCode(ctx context.Context, codeHash string) (*models.CodeExchange, error)
	LiveExchangeByState(ctx context.Context, stateHash string) (*models.CodeExchange, error)
	CompleteExchange(ctx context.Context, codeHash, owner string, userID int64, openid string, at time.Time) error
	FailExchange(ctx context.Context, codeHash, owner string, errcode int, kind string, at time.Time) error
	TakeOverExchange(ctx context.Context, codeHash, owner string, now, leaseUntil time.Time) (bool, error)
	AbandonExchange(ctx context.Context, codeHash string, now time.Time) (bool, error)
	NoteDuplicate(ctx context.Context, codeHash string, waited bool) error
	MarkRestarted(ctx context.Context, codeHash string) error
	RecordLogin(ctx context.Context, l models.Login) (int64, bool, error)
}

// Sealer encrypts tokens before they are stored.
type Sealer interface {
	Seal(plaintext, additional []byte) ([]byte, error)
}

// Metrics receives what the gate does; see NopMetrics.
type Metrics interface {
	// Event counts one of: claimed, duplicate, takeover, abandoned, foreign, unknown, timeout.
	Event(name string)
	// Waited observes how long a duplicate waited, by source: "local" (in-process) or "db".
	Waited(source string, d time.Duration)
}

// NopMetrics discards everything.
type NopMetrics struct{}

func (NopMetrics) Event(string)                 {}
func (NopMetrics) Waited(string, time.Duration) {}

// Config tunes the gate. Zero values pick the defaults in parentheses.
type Config struct {
	Instance     string        // this instance's name, stored as the row's owner
	Lease        time.Duration // how long a claim is protected from takeover (15s)
	OwnerTimeout time.Duration // budget of the owner's WeChat calls; must be < Lease (10s)
	MaxWait      time.Duration // how long a duplicate waits for an owner (Lease+5s)
	PollMin      time.Duration // first poll interval of a cross-instance waiter (2ms)
	PollMax      time.Duration // poll interval cap (25ms)
	// HintsLive reports whether cross-instance wake-ups (Postgres NOTIFY)
	// are being delivered. While it says so, a waiter polls five times less
	// often (the row stays the truth; the poll only covers a lost hint).
	HintsLive func() bool
	Lang      string // userinfo language (zh_CN)
	Now       func() time.Time
	Logger    *slog.Logger
	Metrics   Metrics
}

// Gate is the exactly-once exchanger. It is safe for concurrent use.
type Gate struct {
	store  Store
	wx     WeChat
	sealer Sealer
	cfg    Config

	mu      sync.Mutex
	byCode  map[string]*flight
	byState map[string]*flight
	hub     hub
}

// New builds a Gate.
func New(store Store, wx WeChat, sealer Sealer, cfg Config) *Gate {
	if cfg.Lease == 0 {
		cfg.Lease = 15 * time.Second
	}
	if cfg.OwnerTimeout == 0 {
		cfg.OwnerTimeout = 10 * time.Second
	}
	if cfg.OwnerTimeout >= cfg.Lease {
		cfg.OwnerTimeout = cfg.Lease * 2 / 3
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = cfg.Lease + 5*time.Second
	}
	if cfg.PollMin == 0 {
		cfg.PollMin = 2 * time.Millisecond
	}
	if cfg.PollMax == 0 {
		cfg.PollMax = 25 * time.Millisecond
	}
	if cfg.Lang == "" {
		cfg.Lang = "zh_CN"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NopMetrics{}
	}
	return &Gate{
		store: store, wx: wx, sealer: sealer, cfg: cfg,
		byCode: map[string]*flight{}, byState: map[string]*flight{},
		hub: hub{subs: map[string]map[chan struct{}]struct{}{}},
	}
}

// Wake tells waiters on this instance that the row of a code hash changed;
// the Postgres listener calls it for NOTIFYs from other instances.
func (g *Gate) Wake(codeHash string) { g.hub.publish(codeHash) }

// Request is one callback to resolve.
type Request struct {
	Code      string // the raw code; only ever sent to WeChat, never stored
	State     string
	BrowserID string // the verified session id the browser presented
	Next      string // where to go after login (stored for duplicates)
	Scope     string
	// MayClaim says the state was verified against the browser's live session,
	// so this request may start an exchange. Without it the request can only
	// join an exchange its browser started before.
	MayClaim bool

	reclaimed bool // set once a follower went back to claim its own code
}

// Result is a finished login.
type Result struct {
	UserID    int64
	OpenID    string
	Next      string
	Disabled  bool
	Duplicate bool // this request joined another request's exchange
}

// Errors callers map to pages.
var (
	// ErrForeign: the code or state belongs to another browser (400).
	ErrForeign = errors.New("exchange: code or state belongs to another browser")
	// ErrUnknown: no login in progress matches (400).
	ErrUnknown = errors.New("exchange: no login in progress for this state")
	// ErrWaitTimeout: the owner did not finish in time (503).
	ErrWaitTimeout = errors.New("exchange: timed out waiting for the owner")
)

// Failed is an exchange that ended without a user.
type Failed struct {
	Kind    string // rejected, wechat, unavailable, snapshot, store, abandoned
	ErrCode int    // WeChat's errcode when it gave one
}

func (f *Failed) Error() string { return "exchange failed: " + f.Kind }

// Restartable reports whether a fresh login (a new code) can fix this:
// WeChat rejected the code (40029, 40163, 42003) or its owner vanished.
func (f *Failed) Restartable() bool { return f.Kind == "rejected" || f.Kind == "abandoned" }

// Hash is how codes, states and session ids are stored: SHA-256, hex.
func Hash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

type hashes struct{ code, state, browser string }

// flight is an exchange in progress on this instance.
type flight struct {
	h     hashes
	done  chan struct{}
	res   Result
	err   error
	owned bool // false: the claim lost; waiters must consult the database
}

// Exchange resolves one callback request.
func (g *Gate) Exchange(ctx context.Context, req Request) (Result, error) {
	h := hashes{code: Hash(req.Code), state: Hash(req.State), browser: Hash(req.BrowserID)}
	if !req.MayClaim {
		return g.follow(ctx, req, h)
	}
	start := g.cfg.Now()
	g.mu.Lock()
	f := g.byCode[h.code]
	if f == nil {
		f = g.byState[h.state]
	}
	if f != nil {
		g.mu.Unlock()
		if f.h.browser != h.browser {
			g.cfg.Metrics.Event("foreign")
			return Result{}, ErrForeign
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
		var failed *Failed
		if !f.owned || (errors.As(f.err, &failed) && failed.Restartable() && f.h.code != h.code) {
			// The flight lost its claim, or it was another code of this state
			// that WeChat rejected: this request's own code may still work.
			return g.follow(ctx, req, h)
		}
		g.cfg.Metrics.Waited("local", g.cfg.Now().Sub(start))
		return g.duplicate(ctx, f.h.code, true, f.res, f.err)
	}
	f = &flight{h: h, done: make(chan struct{})}
	g.byCode[h.code] = f
	g.byState[h.state] = f
	g.mu.Unlock()

	// From here on the work is detached from the request: the browser aborts
	// Android's first callback on purpose, and a claim half-made by an
	// aborted request would leave its duplicate waiting for a lease to expire.
	octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.cfg.OwnerTimeout)
	defer cancel()
	now := g.cfg.Now().UTC()
	row := &models.CodeExchange{
		CodeHash: h.code, StateHash: h.state, BrowserHash: h.browser, NextPath: req.Next, Scope: req.Scope,
		Status: models.StatusPending, Owner: g.cfg.Instance, LeaseUntil: now.Add(g.cfg.Lease), Attempts: 1,
		CreatedAt: now, UpdatedAt: now,
	}
	claimed, err := g.store.ClaimExchange(octx, row)
	if err != nil || !claimed {
		g.land(f, false, Result{}, err)
		if err != nil {
			return Result{}, &Failed{Kind: "store"}
		}
		return g.follow(ctx, req, h)
	}
	g.cfg.Metrics.Event("claimed")
	res, err := g.own(octx, req, h, row)
	g.land(f, true, res, err)
	return res, err
}

// land publishes a flight's outcome to in-process waiters.
func (g *Gate) land(f *flight, owned bool, res Result, err error) {
	g.mu.Lock()
	if g.byCode[f.h.code] == f {
		delete(g.byCode, f.h.code)
	}
	if g.byState[f.h.state] == f {
		delete(g.byState, f.h.state)
	}
	g.mu.Unlock()
	f.owned, f.res, f.err = owned, res, err
	close(f.done)
	g.hub.publish(f.h.code)
}

// duplicate turns an owner's outcome into a duplicate's answer and counts it.
func (g *Gate) duplicate(ctx context.Context, codeHash string, waited bool, res Result, err error) (Result, error) {
	g.cfg.Metrics.Event("duplicate")
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if nerr := g.store.NoteDuplicate(nctx, codeHash, waited); nerr != nil {
		g.cfg.Logger.WarnContext(ctx, "counting a duplicate callback failed", "err", nerr)
	}
	res.Duplicate = true
	return res, err
}

// own performs the exchange this request claimed (or took over).
func (g *Gate) own(ctx context.Context, req Request, h hashes, row *models.CodeExchange) (Result, error) {
	fail := func(kind string, errcode int) error {
		// Record on a fresh context: the owner's own budget may be what ran out.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.cfg.OwnerTimeout)
		defer cancel()
		err := g.persist(fctx, func(ctx context.Context) error {
			return g.store.FailExchange(ctx, h.code, g.cfg.Instance, errcode, kind, g.cfg.Now())
		})
		if err != nil {
			g.cfg.Logger.ErrorContext(ctx, "recording a failed exchange", "err", err, "kind", kind)
		}
		return &Failed{Kind: kind, ErrCode: errcode}
	}
	tok, err := g.wx.ExchangeCode(ctx, req.Code)
	if err != nil {
		kind, code := classify(err)
		g.cfg.Logger.WarnContext(ctx, "code exchange failed", "kind", kind, "errcode", code, "err", err)
		return Result{}, fail(kind, code)
	}
	if tok.IsSnapshotUser == 1 {
		return Result{}, fail("snapshot", 0)
	}
	var profile *models.Profile
	if strings.Contains(tok.Scope, "snsapi_userinfo") {
		info, err := g.wx.UserInfo(ctx, tok.AccessToken, tok.OpenID, g.cfg.Lang)
		if err != nil {
			kind, code := classify(err)
			if kind == "rejected" {
				kind = "wechat" // a userinfo error is not about the code
			}
			g.cfg.Logger.WarnContext(ctx, "userinfo failed after retries", "kind", kind, "errcode", code, "err", err)
			return Result{}, fail(kind, code)
		}
		profile = ProfileOf(info, g.cfg.Lang)
		if tok.UnionID == "" {
			tok.UnionID = info.UnionID
		}
	}
	now := g.cfg.Now().UTC()
	ad := []byte(tok.OpenID)
	accessEnc, err1 := g.sealer.Seal([]byte(tok.AccessToken), ad)
	refreshEnc, err2 := g.sealer.Seal([]byte(tok.RefreshToken), ad)
	if err := errors.Join(err1, err2); err != nil {
		return Result{}, fail("store", 0)
	}
	login := models.Login{
		OpenID: tok.OpenID, UnionID: tok.UnionID, Scope: tok.Scope, Profile: profile,
		AccessTokenEnc: accessEnc, AccessTokenExpiresAt: now.Add(time.Duration(tok.ExpiresIn) * time.Second),
		RefreshTokenEnc: refreshEnc, RefreshTokenExpiresAt: now.Add(30 * 24 * time.Hour),
		At: now,
	}
	var (
		uid      int64
		disabled bool
	)
	// WeChat has spent the code: from here on, a database blip must not lose
	// the login, so the writes are retried within the owner's budget (which
	// the lease outlasts, so nobody takes over meanwhile).
	err = g.persist(ctx, func(ctx context.Context) (err error) {
		uid, disabled, err = g.store.RecordLogin(ctx, login)
		return err
	})
	if err != nil {
		g.cfg.Logger.ErrorContext(ctx, "storing the user failed", "err", err)
		return Result{}, fail("store", 0)
	}
	err = g.persist(ctx, func(ctx context.Context) error {
		err := g.store.CompleteExchange(ctx, h.code, g.cfg.Instance, uid, tok.OpenID, g.cfg.Now())
		if errors.Is(err, models.ErrLostLease) {
			return backoffStop{err}
		}
		return err
	})
	if err != nil {
		// The user is stored and this browser is entitled to log in; waiters
		// will see the row as it is (or take over). Log and go on.
		g.cfg.Logger.ErrorContext(ctx, "recording a finished exchange", "err", err)
	}
	return Result{UserID: uid, OpenID: tok.OpenID, Next: row.NextPath, Disabled: disabled}, nil
}

// ProfileOf converts WeChat's userinfo into the stored profile.
func ProfileOf(info *wechat.UserInfo, lang string) *models.Profile {
	priv, _ := json.Marshal(info.Privilege)
	if info.Privilege == nil {
		priv = []byte("[]")
	}
	return &models.Profile{
		Nickname: info.Nickname, Sex: info.Sex, Province: info.Province, City: info.City, Country: info.Country,
		AvatarURL: info.HeadImgURL, Privilege: string(priv), Language: lang,
	}
}

// classify names a WeChat failure for the row and the pages.
func classify(err error) (kind string, errcode int) {
	if code, ok := wechat.ErrCode(err); ok {
		switch {
		case wechat.IsCodeRejected(err):
			return "rejected", code
		case code == wechat.ErrCodeSystemBusy:
			return "unavailable", code
		default:
			return "wechat", code
		}
	}
	return "unavailable", 0
}

// MarkRestarted records on the code's row that its login was restarted.
func (g *Gate) MarkRestarted(ctx context.Context, code string) {
	if err := g.store.MarkRestarted(ctx, Hash(code)); err != nil {
		g.cfg.Logger.WarnContext(ctx, "marking a restarted login", "err", err)
	}
}

// Replay reports where to send a browser, already logged in as userID, that
// presents a code again (the back button, a reload of the callback URL): if
// the code's exchange logged in that very user, the answer is the row's next.
func (g *Gate) Replay(ctx context.Context, code string, userID int64) (string, bool) {
	row, err := g.store.ExchangeByCode(ctx, Hash(code))
	if err != nil || row.Status != models.StatusDone || row.UserID == nil || *row.UserID != userID {
		return "", false
	}
	return row.NextPath, true
}

// backoffStop marks an error that retrying cannot fix.
type backoffStop struct{ error }

func (b backoffStop) Unwrap() error { return b.error }

// persist runs a database write, retrying with capped exponential backoff
// while ctx allows: a Postgres restart takes a second or two, and a login
// whose code is already spent should survive it.
func (g *Gate) persist(ctx context.Context, write func(context.Context) error) error {
	wait := 20 * time.Millisecond
	for {
		err := write(ctx)
		var stop backoffStop
		if err == nil || errors.As(err, &stop) || ctx.Err() != nil {
			return err
		}
		g.cfg.Logger.WarnContext(ctx, "database write failed; retrying", "err", err, "in", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(wait*2, time.Second)
	}
}
