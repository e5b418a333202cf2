package tokencenter

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"sync"
	"time"

	"wxlogin/models"
	"wxlogin/wechat"
)

// Store is the database as the center uses it (*models.DB).
type Store interface {
	AccountToken(ctx context.Context, appid string) (*models.AccountToken, error)
	ClaimAccountTokenLease(ctx context.Context, appid, owner string, version int64, d time.Duration) (bool, error)
	ReleaseAccountTokenLease(ctx context.Context, appid, owner string) error
	StoreAccountToken(ctx context.Context, appid, owner, instance, mode string, sealed []byte, expiresIn time.Duration) (bool, error)
	CountAccountTokenForce(ctx context.Context, appid, owner, day string, daily int, interval time.Duration) (bool, error)
	MarkAccountTokenDead(ctx context.Context, appid, owner string, version int64, recheck time.Duration) error
	RecordAccountTokenError(ctx context.Context, appid, owner string, code int, msg string, retryAfter time.Duration) error
	NoteAccountTokenError(ctx context.Context, appid string, code int, msg string) error
}

// Fetcher asks WeChat for the token (*wechat.Client).
type Fetcher interface {
	AppID() string
	StableToken(ctx context.Context, force bool) (*wechat.AccessToken, error)
}

// Sealer seals the token at rest (tokencrypt.Sealer).
type Sealer interface {
	Seal(plaintext, additional []byte) ([]byte, error)
	Open(ciphertext, additional []byte) ([]byte, error)
}

// Config tunes a Center; zero values take the defaults.
type Config struct {
	// Instance names this instance on the row ("fetched by") and in leases.
	Instance string
	// Ahead renews the token this long before it expires; default 4 min.
	// WeChat renews a stable token 5 minutes before expiry and normal mode
	// returns the new one from then on, so Ahead must stay below 5
	// minutes, or normal mode would keep returning the old token.
	Ahead time.Duration
	// MinRefetch is the least time between two renewals ahead of expiry
	// (not after a refusal); default 10 s. It keeps a token WeChat hands
	// out with a short life from being fetched on every call.
	MinRefetch time.Duration
	// Lease bounds one instance's fetch; default 15 s.
	Lease time.Duration
	// Wait bounds how long a caller waits for another instance's fetch
	// when no valid token is left; default 10 s.
	Wait time.Duration
	// ForceDaily and ForceInterval are WeChat's force_refresh limits;
	// defaults 20 and 30 s.
	ForceDaily    int
	ForceInterval time.Duration
	// Attempts of a normal-mode fetch on temporary failures, with jittered
	// backoff from Backoff; defaults 3 and 200 ms.
	Attempts int
	Backoff  time.Duration
	// MaxHoldOff caps the pause every instance keeps after WeChat failed
	// (doubling from 1 s); default 1 min.
	MaxHoldOff time.Duration
	// DeadRecheck is how often, across all instances, a token WeChat
	// refused while no force was allowed is re-checked with one
	// normal-mode call (another server may have forced a new one);
	// meanwhile calls fail at once. Default 5 s.
	DeadRecheck time.Duration
	Logger      *slog.Logger
	// Now is the local clock of the in-process copy; default time.Now.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.Ahead <= 0 {
		c.Ahead = 4 * time.Minute
	}
	if c.MinRefetch <= 0 {
		c.MinRefetch = 10 * time.Second
	}
	if c.Lease <= 0 {
		c.Lease = 15 * time.Second
	}
	if c.Wait <= 0 {
		c.Wait = 10 * time.Second
	}
	if c.ForceDaily <= 0 {
		c.ForceDaily = 20
	}
	if c.ForceInterval <= 0 {
		c.ForceInterval = 30 * time.Second
	}
	if c.Attempts <= 0 {
		c.Attempts = 3
	}
	if c.Backoff <= 0 {
		c.Backoff = 200 * time.Millisecond
	}
	if c.MaxHoldOff <= 0 {
		c.MaxHoldOff = time.Minute
	}
	if c.DeadRecheck <= 0 {
		c.DeadRecheck = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Instance == "" {
		c.Instance = "instance"
	}
	return c
}

// Errors of the center. None carries the token.
var (
	// ErrForceTooSoon: WeChat refused the token and hands the same one back,
	// and a forced refresh was made less than 30 s ago (by any instance):
	// the call fails instead of looping; a later call may force.
	ErrForceTooSoon = errors.New("tokencenter: the access token was refused and a forced refresh was made less than 30 s ago; try again shortly")
	// ErrForceLimit: as ErrForceTooSoon, but today's 20 forced refreshes
	// are used up.
	ErrForceLimit = errors.New("tokencenter: the access token was refused and today's forced refreshes are used up")
	// ErrBusy: another instance is fetching the token and no valid one was
	// stored within Config.Wait.
	ErrBusy = errors.New("tokencenter: timed out waiting for another instance to fetch the access token")
)

// FetchError is WeChat's refusal of a token fetch (or its absence), with a
// Chinese description for the admin pages. It never holds the token or the
// secret.
type FetchError struct {
	Code int    // WeChat's errcode, or wechat.ErrCodeUnavailable
	Desc string // Chinese meaning; for 40164 it names the IP to whitelist
	IP   string // 40164: the calling IP WeChat saw
	Err  error
}

func (e *FetchError) Error() string {
	if e.IP != "" {
		return fmt.Sprintf("tokencenter: fetching the access token: errcode %d (add IP %s to the account's whitelist)", e.Code, e.IP)
	}
	return fmt.Sprintf("tokencenter: fetching the access token: %v", e.Err)
}

func (e *FetchError) Unwrap() error { return e.Err }

// Token is the account's access token. String and LogValue hide it.
type Token struct {
	Value   string
	Expires time.Time // on the local clock
}

func (t Token) String() string { return "Token{[redacted]}" }

// LogValue hides the token in log/slog.
func (t Token) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Center holds the account's access token for this instance.
type Center struct {
	store  Store
	wx     Fetcher
	sealer Sealer
	cfg    Config
	appid  string
	log    *slog.Logger
	// sem lets one goroutine of this process at a time read the row or
	// fetch; the others wait for it and then find its result in the cache.
	sem chan struct{}

	mu    sync.Mutex
	cache cached
}

type cached struct {
	token      string
	version    int64
	freshUntil time.Time // renew after (local clock)
	validUntil time.Time // expires (local clock)
}

// New returns a Center for the appid of wx.
func New(store Store, wx Fetcher, sealer Sealer, cfg Config) *Center {
	cfg = cfg.withDefaults()
	return &Center{store: store, wx: wx, sealer: sealer, cfg: cfg, appid: wx.AppID(),
		log: cfg.Logger, sem: make(chan struct{}, 1)}
}

// Token returns a valid access token: this process's copy while it is
// fresh, else the shared row's, else one fetched by this or another instance.
func (c *Center) Token(ctx context.Context) (Token, error) {
	if t, ok := c.fresh(""); ok {
		return t, nil
	}
	return c.obtain(ctx, "")
}

// Invalid is called with a token WeChat just refused (40001/40014/42001)
// and returns the token to retry with, following the rules in the package
// doc: re-read, normal mode, and only then at most one forced refresh.
func (c *Center) Invalid(ctx context.Context, failed string) (Token, error) {
	if failed == "" {
		return c.Token(ctx)
	}
	return c.obtain(ctx, failed)
}

// Do calls fn with the token; when WeChat refuses the token, it is renewed
// (Invalid) and fn is called once more. This is how every cgi-bin API
// (menu, pushes, mini program) is meant to be called.
func (c *Center) Do(ctx context.Context, fn func(ctx context.Context, token string) error) error {
	t, err := c.Token(ctx)
	if err != nil {
		return err
	}
	err = fn(ctx, t.Value)
	if !wechat.IsTokenInvalid(err) {
		return err
	}
	code, _ := wechat.ErrCode(err)
	c.log.WarnContext(ctx, "access token refused by WeChat; renewing", "errcode", code)
	t2, err2 := c.Invalid(ctx, t.Value)
	if err2 != nil {
		return err2
	}
	return fn(ctx, t2.Value)
}

// fresh returns the cached token if it is fresh (failed == "") or, with a
// failed token, if the cache already holds a different, valid one.
func (c *Center) fresh(failed string) (Token, bool) {
	now := c.cfg.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.cache
	if k.token == "" {
		return Token{}, false
	}
	if failed == "" && now.Before(k.freshUntil) {
		return Token{Value: k.token, Expires: k.validUntil}, true
	}
	if failed != "" && k.token != failed && now.Before(k.validUntil) {
		return Token{Value: k.token, Expires: k.validUntil}, true
	}
	return Token{}, false
}

func (c *Center) setCache(tok string, version int64, remaining time.Duration, freshFor time.Duration) Token {
	now := c.cfg.Now()
	fresh := remaining - c.cfg.Ahead
	if fresh > freshFor || fresh <= 0 {
		fresh = min(freshFor, remaining)
	}
	c.mu.Lock()
	c.cache = cached{token: tok, version: version, freshUntil: now.Add(fresh), validUntil: now.Add(remaining)}
	c.mu.Unlock()
	return Token{Value: tok, Expires: now.Add(remaining)}
}

func (c *Center) dropCache(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if tok == "" || c.cache.token == tok {
		c.cache = cached{}
	}
}

func (c *Center) acquire(ctx context.Context) error {
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Center) release() { <-c.sem }

// additional binds the sealed token to its appid.
func (c *Center) additional() []byte { return []byte("account_token:" + c.appid) }

func (c *Center) open(row *models.AccountToken) (string, error) {
	if len(row.TokenEnc) == 0 {
		return "", nil
	}
	b, err := c.sealer.Open(row.TokenEnc, c.additional())
	if err != nil {
		return "", fmt.Errorf("tokencenter: opening the stored token: %w", err)
	}
	return string(b), nil
}

func remaining(row *models.AccountToken) time.Duration {
	if row.ExpiresAt == nil {
		return 0
	}
	return row.ExpiresAt.Sub(row.Now)
}

// forceBlocked says whether a force is not allowed now by the row's counts,
// and which error says so.
func (c *Center) forceBlocked(row *models.AccountToken) error {
	if row.ForceDay == beijingDay(row.Now) && row.ForceCount >= c.cfg.ForceDaily {
		return ErrForceLimit
	}
	if row.LastForceAt != nil && row.Now.Sub(*row.LastForceAt) < c.cfg.ForceInterval {
		return ErrForceTooSoon
	}
	return nil
}

// obtain is Token (failed == "") and Invalid (failed: the refused token).
func (c *Center) obtain(ctx context.Context, failed string) (Token, error) {
	if err := c.acquire(ctx); err != nil {
		return Token{}, err
	}
	defer c.release()
	// Another goroutine may have done the work while this one waited.
	if t, ok := c.fresh(failed); ok {
		return t, nil
	}
	c.dropCache(failed)
	deadline := c.cfg.Now().Add(c.cfg.Wait)
	pause := 20 * time.Millisecond
	for {
		row, err := c.store.AccountToken(ctx, c.appid)
		if err != nil {
			return Token{}, fmt.Errorf("tokencenter: reading the token row: %w", err)
		}
		tok, err := c.open(row)
		if err != nil {
			return Token{}, err
		}
		left := remaining(row)
		dead := tok != "" && (row.DeadVersion == row.Version || tok == failed)
		valid := tok != "" && left > 0 && !dead
		if valid && left > c.cfg.Ahead {
			return c.setCache(tok, row.Version, left, time.Hour), nil
		}
		if valid && row.FetchedAt != nil && row.Now.Sub(*row.FetchedAt) < c.cfg.MinRefetch {
			return c.setCache(tok, row.Version, left, time.Second), nil
		}
		holdOff := row.RetryAt != nil && row.RetryAt.After(row.Now)
		if tok != "" && row.DeadVersion == row.Version {
			// Known dead: fail fast until the next re-check; then one
			// instance asks normal mode again (and forces if allowed).
			if holdOff {
				if err := c.forceBlocked(row); err != nil {
					return Token{}, err
				}
				return Token{}, ErrForceTooSoon
			}
			failed = tok
		}
		if holdOff {
			if valid {
				return c.setCache(tok, row.Version, left, time.Second), nil
			}
			return Token{}, c.lastError(row)
		}
		owner := c.cfg.Instance + "/" + randomHex(6)
		claimed, err := c.store.ClaimAccountTokenLease(ctx, c.appid, owner, row.Version, c.cfg.Lease)
		if err != nil {
			return Token{}, fmt.Errorf("tokencenter: claiming the fetch: %w", err)
		}
		if claimed {
			return c.fetch(ctx, row, tok, failed, owner)
		}
		if valid {
			// Another instance is renewing ahead of expiry; the current
			// token is still good meanwhile.
			return c.setCache(tok, row.Version, left, time.Second), nil
		}
		if !c.cfg.Now().Before(deadline) {
			return Token{}, ErrBusy
		}
		if !sleep(ctx, pause/2+rand.N(pause/2+1)) {
			return Token{}, ctx.Err()
		}
		pause = min(pause*2, 500*time.Millisecond)
	}
}

// fetch runs under owner's lease: normal mode, and one force only when
// WeChat hands back the very token that failed.
func (c *Center) fetch(ctx context.Context, row *models.AccountToken, stored, failed, owner string) (Token, error) {
	fctx, cancel := context.WithTimeout(ctx, c.cfg.Lease*2/3)
	defer cancel()
	t, err := c.normal(fctx)
	if err != nil {
		return Token{}, c.recordError(ctx, row, owner, err)
	}
	if failed == "" || t.AccessToken != failed {
		return c.keep(ctx, owner, "normal", t)
	}
	// WeChat says the refused token is still the current one: only a
	// forced refresh repairs it. Counted in the database first, so at most
	// one instance forces, within WeChat's limits.
	ok, err := c.store.CountAccountTokenForce(ctx, c.appid, owner, beijingDay(row.Now), c.cfg.ForceDaily, c.cfg.ForceInterval)
	if err != nil {
		_ = c.store.ReleaseAccountTokenLease(context.WithoutCancel(ctx), c.appid, owner)
		return Token{}, fmt.Errorf("tokencenter: counting the forced refresh: %w", err)
	}
	if !ok {
		return Token{}, c.markDead(ctx, row, stored, failed, owner)
	}
	c.log.WarnContext(ctx, "access token refused and still current at WeChat: forcing a refresh", "appid", c.appid)
	ft, err := c.wx.StableToken(fctx, true)
	if err == nil {
		return c.keep(ctx, owner, "force", ft)
	}
	if code, ok := wechat.ErrCode(err); ok && (code == wechat.ErrCodeTooFrequent || code == wechat.ErrCodeDailyQuota) {
		// Another deployment sharing the appid forced first: normal mode
		// returns its token.
		if t2, err2 := c.wx.StableToken(fctx, false); err2 == nil && t2.AccessToken != failed {
			return c.keep(ctx, owner, "normal", t2)
		}
		return Token{}, c.markDead(ctx, row, stored, failed, owner)
	}
	return Token{}, c.recordError(ctx, row, owner, err)
}

// normal asks stable_token in normal mode, retrying temporary failures
// with jittered backoff (a replayable call: it changes nothing at WeChat).
func (c *Center) normal(ctx context.Context) (*wechat.AccessToken, error) {
	d := c.cfg.Backoff
	for attempt := 1; ; attempt++ {
		t, err := c.wx.StableToken(ctx, false)
		if err == nil || !wechat.IsTemporary(err) || attempt >= c.cfg.Attempts {
			return t, err
		}
		if !sleep(ctx, d/2+rand.N(d/2+1)) {
			return nil, err
		}
		d *= 2
	}
}

// keep stores a fetched token (ending the lease) and caches it.
func (c *Center) keep(ctx context.Context, owner, mode string, t *wechat.AccessToken) (Token, error) {
	life := time.Duration(t.ExpiresIn) * time.Second
	sealed, err := c.sealer.Seal([]byte(t.AccessToken), c.additional())
	if err != nil {
		_ = c.store.ReleaseAccountTokenLease(context.WithoutCancel(ctx), c.appid, owner)
		return Token{}, fmt.Errorf("tokencenter: sealing the token: %w", err)
	}
	stored, err := c.store.StoreAccountToken(context.WithoutCancel(ctx), c.appid, owner, c.cfg.Instance, mode, sealed, life)
	if err != nil || !stored {
		// The lease ran out and another instance took over: the token is
		// still WeChat's current one, so use it, but read the row next time.
		c.log.WarnContext(ctx, "access token fetched but not stored (lease lost or database error)", "err", err)
		return c.setCache(t.AccessToken, -1, life, time.Second), nil
	}
	c.log.InfoContext(ctx, "access token fetched", "mode", mode, "expires_in", t.ExpiresIn)
	freshFor := time.Hour
	if life <= c.cfg.Ahead {
		freshFor = time.Second
	}
	return c.setCache(t.AccessToken, 0, life, freshFor), nil
}

// markDead records that the stored token is dead and cannot be forced now,
// so every instance fails fast until a force is allowed again.
func (c *Center) markDead(ctx context.Context, row *models.AccountToken, stored, failed, owner string) error {
	bctx := context.WithoutCancel(ctx)
	if stored == failed {
		_ = c.store.MarkAccountTokenDead(bctx, c.appid, owner, row.Version, c.cfg.DeadRecheck)
	} else {
		_ = c.store.ReleaseAccountTokenLease(bctx, c.appid, owner)
	}
	fresh, err := c.store.AccountToken(bctx, c.appid)
	if err == nil {
		if blocked := c.forceBlocked(fresh); blocked != nil {
			err = blocked
		} else {
			err = ErrForceTooSoon
		}
	} else {
		err = ErrForceTooSoon
	}
	_ = c.store.NoteAccountTokenError(bctx, c.appid, wechat.ErrCodeInvalidCredential, describeForce(err))
	c.log.ErrorContext(ctx, "access token refused by WeChat and no forced refresh allowed now", "err", err)
	return err
}

func describeForce(err error) string {
	if errors.Is(err, ErrForceLimit) {
		return "access_token 已失效，且今天的强制刷新次数（20 次）已用完"
	}
	return "access_token 已失效，30 秒内已强制刷新过一次，请稍后再试"
}

// ipPattern finds the IP in 40164's errmsg ("invalid ip 1.2.3.4 ipv6 ..., not in whitelist").
var ipPattern = regexp.MustCompile(`invalid ip ([0-9a-fA-F:.]+)`)

// recordError stores WeChat's failure with a hold-off for every instance,
// logs it, and returns a *FetchError.
func (c *Center) recordError(ctx context.Context, row *models.AccountToken, owner string, err error) error {
	fe := &FetchError{Code: wechat.ErrCodeUnavailable, Err: err}
	var ae *wechat.APIError
	if errors.As(err, &ae) {
		fe.Code = ae.Code
		if m := ipPattern.FindStringSubmatch(ae.Msg); m != nil {
			fe.IP = m[1]
		}
	}
	fe.Desc = wechat.Describe(fe.Code)
	if fe.Code == wechat.ErrCodeIPNotWhitelisted {
		ip := fe.IP
		if ip == "" {
			ip = "（微信未给出）"
		}
		fe.Desc += "：请在公众号后台“设置与开发 → 基本配置 → IP 白名单”中加入 " + ip
	}
	hold := time.Second << min(row.Failures, 10)
	hold = min(hold, c.cfg.MaxHoldOff)
	if rerr := c.store.RecordAccountTokenError(context.WithoutCancel(ctx), c.appid, owner, fe.Code, fe.Desc, hold); rerr != nil {
		c.log.ErrorContext(ctx, "storing the token error", "err", rerr)
	}
	c.log.ErrorContext(ctx, "fetching the access token failed", "errcode", fe.Code, "meaning", fe.Desc, "ip", fe.IP, "hold_off", hold)
	return fe
}

// lastError is the stored failure as a *FetchError (the hold-off is running).
func (c *Center) lastError(row *models.AccountToken) error {
	return &FetchError{Code: row.LastErrorCode, Desc: row.LastError,
		Err: fmt.Errorf("WeChat failed with errcode %d; holding off until %s", row.LastErrorCode, row.RetryAt.UTC().Format(time.RFC3339))}
}

var beijing = time.FixedZone("CST", 8*3600)

// beijingDay is the date WeChat's daily limits count by.
func beijingDay(t time.Time) string { return t.In(beijing).Format("2006-01-02") }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
