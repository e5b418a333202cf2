package exchange

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
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

// Store is the part of the database the gate uses. Leases and row ages are
// computed on the database's clock, so instances whose clocks disagree
// still agree on who owns a row.
type Store interface {
	ClaimExchange(ctx context.Context, row *models.CodeExchange, lease time.Duration) (bool, string, error)
	ExchangeByCode(ctx context.Context, codeHash string) (*models.CodeExchange, error)
	ExchangesByState(ctx context.Context, stateHash string) ([]models.CodeExchange, error)
	CompleteExchange(ctx context.Context, codeHash string, f models.Fence, userID int64, openid string) error
	FailExchange(ctx context.Context, codeHash string, f models.Fence, errcode int, kind string) error
	TakeOverExchange(ctx context.Context, codeHash, owner string, lease time.Duration) (models.Fence, bool, error)
	AbandonExchange(ctx context.Context, codeHash string) (bool, error)
	NoteDuplicate(ctx context.Context, codeHash string, waited bool) error
	MarkRestarted(ctx context.Context, codeHash string) error
	RecordLogin(ctx context.Context, l models.Login) (int64, bool, error)
	// RecordLoginCompleting is RecordLogin that may also complete the
	// owner's row in the same write (Row true; ErrLostLease when the fence
	// no longer held, the user stored all the same), and write the
	// request's session row (Session true); with Row false the gate
	// completes the row with CompleteExchange, and the caller saves the
	// session.
	RecordLoginCompleting(ctx context.Context, l models.Login, codeHash string, f models.Fence, sess *models.Session) (models.Completed, error)
}

// Kinds of code the gate exchanges. Both go through the same claim, wait,
// fence and takeover; only the WeChat step (Step) and what binds a request
// to the code differ.
const (
	// KindWeb is the web authorization code: bound to its state and the
	// browser session that started the login.
	KindWeb = "web"
	// KindMini is the mini program's wx.login js_code. There is no state and
	// no browser session to bind it to: the code itself is the secret (only
	// the mini program that called wx.login has it, and WeChat hands out
	// each once, for 5 minutes), so any request presenting the code may have
	// its result — but only within the code's lifetime (CodeLifetime, on the
	// database's clock). After that a replay of the code is refused without
	// a WeChat call (ErrExpired): a code that leaked later, from a log or a
	// proxy, logs nobody in.
	KindMini = "mini"
)

// Step is the per-kind WeChat part of an exchange, which the owner of a
// code runs once: it spends the code with WeChat and returns the login to
// record. prior is the openid an earlier code of the same state logged in
// ("" if none); a step must refuse a code that logs in somebody else. Its
// failures are *Failed, with the kind the row records.
type Step interface {
	Login(ctx context.Context, code, prior string) (models.Login, error)
}

// Sealer encrypts tokens before they are stored.
type Sealer interface {
	Seal(plaintext, additional []byte) ([]byte, error)
}

// Metrics receives what the gate does; see NopMetrics.
type Metrics interface {
	// Event counts one of: claimed, duplicate, takeover, abandoned, foreign,
	// unknown, timeout, spent, mismatch, late, expired.
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
	Instance     string        // this instance's name; the row's owner is this plus a per-process nonce
	Lease        time.Duration // how long a claim is protected from takeover (15s)
	OwnerTimeout time.Duration // budget of the owner's WeChat calls; must be < Lease (10s)
	MaxWait      time.Duration // how long any request may take in the gate (Lease+5s)
	PollMin      time.Duration // first poll interval of a cross-instance waiter (2ms)
	PollMax      time.Duration // poll interval cap (25ms)
	// JoinWindow bounds how long after a code's claim a request whose session
	// no longer holds the state (the login renewed it) may still join that
	// code's exchange or claim another code of the state (30s). Android's
	// second callback follows the first within a second.
	JoinWindow time.Duration
	// HintsLive reports whether cross-instance wake-ups (Postgres NOTIFY)
	// are being delivered. While it says so, a waiter polls five times less
	// often (the row stays the truth; the poll only covers a lost hint).
	HintsLive func() bool
	// CodeLifetime is how long after its claim a mini program code's result
	// is handed to requests presenting it (5 minutes, WeChat's own lifetime
	// of a code); later it is refused with ErrExpired.
	CodeLifetime time.Duration
	// Steps are the WeChat steps of kinds besides KindWeb (whose step the
	// gate builds from its WeChat client); a kind without one is refused.
	Steps map[string]Step
	// AppID is the Official Account's appid, recorded on web identities.
	AppID   string
	Lang    string           // userinfo language (zh_CN)
	Now     func() time.Time // for waiting times only; leases use the database's clock
	Logger  *slog.Logger
	Metrics Metrics
}

// leaseMargin is kept free at the end of a lease: the owner's last write
// must land before anybody may take the row over.
func leaseMargin(lease time.Duration) time.Duration { return min(500*time.Millisecond, lease/10) }

// maxClaims bounds how often one request tries to claim its code: each try
// follows another code of the same state that finished meanwhile.
const maxClaims = 4

// Gate is the exactly-once exchanger. It is safe for concurrent use.
type Gate struct {
	store  Store
	wx     WeChat
	sealer Sealer
	cfg    Config
	owner  string // cfg.Instance plus a nonce: two processes never share it
	steps  map[string]Step

	mu      sync.Mutex
	byCode  map[string]*flight
	byState map[string]*flight
	hub     hub

	onJoin func() // tests: called after a duplicate joins a flight (export_test.go)
}

// New builds a Gate.
func New(store Store, wx WeChat, sealer Sealer, cfg Config) *Gate {
	if cfg.Lease == 0 {
		cfg.Lease = 15 * time.Second
	}
	if cfg.OwnerTimeout == 0 {
		cfg.OwnerTimeout = 10 * time.Second
	}
	if cfg.OwnerTimeout >= cfg.Lease-leaseMargin(cfg.Lease) {
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
	if cfg.JoinWindow == 0 {
		cfg.JoinWindow = 30 * time.Second
	}
	if cfg.CodeLifetime == 0 {
		cfg.CodeLifetime = 5 * time.Minute
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
	nonce := make([]byte, 4)
	_, _ = rand.Read(nonce)
	g := &Gate{
		store: store, wx: wx, sealer: sealer, cfg: cfg, owner: cfg.Instance + "/" + hex.EncodeToString(nonce),
		byCode: map[string]*flight{}, byState: map[string]*flight{},
		hub:   hub{subs: map[string]map[chan struct{}]struct{}{}},
		steps: map[string]Step{},
	}
	for k, s := range cfg.Steps {
		g.steps[k] = s
	}
	g.steps[KindWeb] = webStep{g}
	return g
}

// Has reports whether the gate exchanges codes of kind.
func (g *Gate) Has(kind string) bool { _, ok := g.steps[kind]; return ok }

// Owner is the name this gate writes into the rows it claims.
func (g *Gate) Owner() string { return g.owner }

// WorstCase is the longest a request can spend in the gate: waiting for an
// owner (MaxWait) and then, having taken over, owning the code for at most a
// lease. Proxies in front of wxlogin must wait at least this long.
func (g *Gate) WorstCase() time.Duration { return g.cfg.MaxWait + g.cfg.Lease }

// Wake tells waiters on this instance that the row of a code hash changed;
// the Postgres listener calls it for NOTIFYs from other instances.
func (g *Gate) Wake(codeHash string) { g.hub.publish(codeHash) }

// Request is one callback to resolve.
type Request struct {
	// Kind is the kind of code: KindWeb (also when empty) or KindMini. A
	// KindMini request needs only Code: the gate binds it to the code itself.
	Kind      string
	Code      string // the raw code; only ever sent to WeChat, never stored
	State     string
	BrowserID string // the verified session id the browser presented
	Next      string // where to go after login (stored for duplicates)
	Scope     string
	// MayClaim says the state was verified against the browser's session,
	// so this request may start an exchange. Without it the request can
	// only join an exchange its browser started within JoinWindow.
	MayClaim bool
	// Refresh: the person is logged in and asked for a fresh profile
	// (刷新资料, or sharing it after a silent login); the owner stores it
	// without counting a login (models.Login.Refresh).
	Refresh bool
	// Session, if not nil, is the session row this request's login gives
	// the browser (dbsession.Store.LoginRow). When this request owns the
	// exchange, the owner writes it in the statement that stores the user
	// where the store can (models.DB.RecordLoginCompleting), and
	// Result.Session says it did; the caller then only sends the cookie.
	Session *models.Session
}

func (r Request) kind() string {
	if r.Kind == "" {
		return KindWeb
	}
	return r.Kind
}

// miniBrowser stands in for the browser session of a mini program code,
// which has none: every request presenting the code is its "browser".
const miniBrowser = "mini-program"

// hashes are what the rows store for a request. A web code's hash is the
// code's own (as always); another kind's code is hashed with its kind as a
// prefix, so that a web code and a mini program code never share a row (a
// web code never contains ':', the callback refuses it). A mini program
// code is its own state, and its browser is the kind's constant.
func (r Request) hashes() hashes {
	if r.kind() == KindWeb {
		return hashes{code: Hash(r.Code), state: Hash(r.State), browser: Hash(r.BrowserID)}
	}
	code := Hash(r.Kind + ":" + r.Code)
	return hashes{code: code, state: code, browser: Hash(r.Kind + ":" + miniBrowser)}
}

// Result is a finished login.
type Result struct {
	UserID    int64
	OpenID    string
	UnionID   string // as WeChat gave it with this login, or as the user has it
	Next      string
	Disabled  bool
	Duplicate bool // this request joined another request's exchange of the same code
	// Session is the id hash of the session row the owner wrote with the
	// login (its request's Request.Session), "" if it wrote none. A
	// duplicate of the same browser and state derives the same row.
	Session string
}

// Errors callers map to pages.
var (
	// ErrForeign: the code or state belongs to another browser (400).
	ErrForeign = errors.New("exchange: code or state belongs to another browser")
	// ErrUnknown: no login in progress matches (400).
	ErrUnknown = errors.New("exchange: no login in progress for this state")
	// ErrWaitTimeout: the owner did not finish in time (503).
	ErrWaitTimeout = errors.New("exchange: timed out waiting for the owner")
	// ErrExpired: a mini program code presented after its lifetime (401).
	ErrExpired = errors.New("exchange: the code's lifetime is over")
	// ErrKind: the gate has no step for the request's kind of code.
	ErrKind = errors.New("exchange: unknown kind of code")
)

// Failed is an exchange that ended without a user.
type Failed struct {
	Kind    string // rejected, mismatch, wechat, unavailable, snapshot, store, abandoned
	ErrCode int    // WeChat's errcode when it gave one
}

func (f *Failed) Error() string { return "exchange failed: " + f.Kind }

// Restartable reports whether a fresh login (a new code) can fix this:
// WeChat rejected the code (40029, 40163, 42003), the state is used up, or
// the code's owner vanished.
func (f *Failed) Restartable() bool {
	return f.Kind == models.KindRejected || f.Kind == models.KindSpent || f.Kind == "abandoned"
}

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
	owned bool // false: no result for waiters (claim lost, fence lost, panic); they read the row

	// Duplicates of the code that wait on this flight take a ticket
	// (joined counts them, under Gate.mu); the owner's finishing write adds
	// the first counted of them to the row, so those answer without a
	// statement of their own. counted is written before done is closed.
	joined, counted int
}

// join registers a duplicate waiting on f and returns its ticket (1, 2, ...).
func (g *Gate) join(f *flight) int {
	g.mu.Lock()
	f.joined++
	ticket := f.joined
	g.mu.Unlock()
	if g.onJoin != nil {
		g.onJoin()
	}
	return ticket
}

// joinedSoFar is how many duplicates wait on f now (0 without a flight).
func (g *Gate) joinedSoFar(f *flight) int {
	if f == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return f.joined
}

// counted records that the owner's finishing write counted the first n
// duplicates of f on the row.
func (g *Gate) counted(f *flight, n int) {
	if f == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	f.counted = n
}

// Exchange resolves one callback request. Its result is only ever the
// result of the request's own code: a request with another code of the same
// state has that code exchanged (or refused) on its own.
func (g *Gate) Exchange(ctx context.Context, req Request) (Result, error) {
	if !g.Has(req.kind()) {
		return Result{}, ErrKind
	}
	if req.kind() != KindWeb {
		// The code binds the request (see KindMini): whoever presents it
		// may claim it or wait for its result.
		req.MayClaim = true
	}
	h := req.hashes()
	// Every wait below ends with this budget, also the in-process ones.
	ctx, cancel := context.WithTimeout(ctx, g.cfg.MaxWait)
	defer cancel()
	w := &waiter{g: g, req: req, h: h, start: g.cfg.Now(), claim: true}
	defer w.unsubscribe()
	return w.run(ctx)
}

// claim registers a flight for the request's code and state, inserts the
// pending row and owns the exchange. ok is false when the code was not
// claimed (another request has it, or another code of the state is in
// flight or used it up); the caller then reads the rows.
func (g *Gate) claim(ctx context.Context, req Request, h hashes) (res Result, err error, ok bool) {
	g.mu.Lock()
	if g.byCode[h.code] != nil || g.byState[h.state] != nil {
		g.mu.Unlock()
		return Result{}, nil, false
	}
	f := &flight{h: h, done: make(chan struct{})}
	g.byCode[h.code] = f
	g.byState[h.state] = f
	g.mu.Unlock()
	landed := false
	defer func() {
		if !landed {
			// The owner panicked: later requests for this code or state
			// must not wait on a flight that never lands; they read the row.
			g.land(f, false, Result{}, nil)
		}
	}()

	// From here on the work is detached from the request: the browser aborts
	// Android's first callback on purpose, and a claim half-made by an
	// aborted request would leave its duplicate waiting for a lease to expire.
	octx := context.WithoutCancel(ctx)
	claimedAt := time.Now()
	row := &models.CodeExchange{CodeHash: h.code, StateHash: h.state, BrowserHash: h.browser, NextPath: req.Next, Scope: req.Scope, Owner: g.owner}
	var claimed bool
	var prior string
	cctx, ccancel := context.WithTimeout(octx, g.cfg.OwnerTimeout)
	err = g.persist(cctx, func(ctx context.Context) error {
		var err error
		claimed, prior, err = g.store.ClaimExchange(ctx, row, g.cfg.Lease)
		if err != nil {
			// The insert may have committed although the answer was lost:
			// then the row is this gate's (nobody else in this process can
			// claim the code meanwhile) and must not be left orphaned.
			if mine, rerr := g.isMine(ctx, h.code); rerr == nil && mine {
				claimed, prior, err = true, "", nil
				if rows, rerr := g.store.ExchangesByState(ctx, h.state); rerr == nil {
					prior = doneOpenID(rows, h.code)
				}
			}
		}
		return err
	})
	ccancel()
	if err != nil || !claimed {
		landed = true
		g.land(f, false, Result{}, nil)
		if err != nil {
			g.cfg.Logger.ErrorContext(ctx, "claiming an exchange failed", "err", err)
			return Result{}, &Failed{Kind: "store"}, true
		}
		return Result{}, nil, false
	}
	g.cfg.Metrics.Event("claimed")
	res, err, lost := g.own(octx, req, h, f, models.Fence{Owner: g.owner, Attempt: 1}, claimedAt, req.Next, prior)
	landed = true
	g.land(f, !lost, res, err)
	return res, err, true
}

// isMine reports whether the code's row is a pending first claim by this gate.
func (g *Gate) isMine(ctx context.Context, codeHash string) (bool, error) {
	row, err := g.store.ExchangeByCode(ctx, codeHash)
	if errors.Is(err, models.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return row.Owner == g.owner && row.Attempts == 1 && row.Status == models.StatusPending, nil
}

// doneOpenID is the openid an earlier code of a state logged in ("" if none).
func doneOpenID(rows []models.CodeExchange, except string) string {
	for _, r := range rows {
		if r.CodeHash != except && r.Status == models.StatusDone && r.OpenID != nil {
			return *r.OpenID
		}
	}
	return ""
}

// flightOf returns the in-process flight of this code, else of this state.
func (g *Gate) flightOf(h hashes) *flight {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f := g.byCode[h.code]; f != nil {
		return f
	}
	return g.byState[h.state]
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

// duplicate turns an owner's outcome into a duplicate's answer and counts
// it on the row, unless the owner's finishing write already did (noted).
func (g *Gate) duplicate(ctx context.Context, codeHash string, waited, noted bool, res Result, err error) (Result, error) {
	g.cfg.Metrics.Event("duplicate")
	if !noted {
		nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if nerr := g.store.NoteDuplicate(nctx, codeHash, waited); nerr != nil {
			g.cfg.Logger.WarnContext(ctx, "counting a duplicate callback failed", "err", nerr)
		}
	}
	res.Duplicate = true
	return res, err
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
