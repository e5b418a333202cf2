package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"wxlogin/models"
	"wxlogin/wechat"
)

// own performs the exchange of a code this gate holds under fence, claimed
// (or taken over) at claimedAt. lost reports that a finishing write found
// the row no longer fenced for this owner: then the row, not this result,
// is what other requests must go by.
//
// Budgets: WeChat gets OwnerTimeout from the claim. Once WeChat has spent
// the code its result must reach the row, so the database writes get the
// rest of the lease (less a margin) of their own, retried through a blip;
// nothing runs past the lease, so no owner ever outlives it.
//
// f is the request's flight (nil for a takeover, which has none): the
// duplicates waiting on it when a finishing write runs are counted by that
// write (models.Fence.Waiters) instead of one statement each.
func (g *Gate) own(ctx context.Context, req Request, h hashes, f *flight, fence models.Fence, claimedAt time.Time, next, prior string) (res Result, err error, lost bool) {
	wctx, wcancel := context.WithDeadline(ctx, claimedAt.Add(g.cfg.OwnerTimeout))
	defer wcancel()
	dctx, dcancel := context.WithDeadline(ctx, claimedAt.Add(g.cfg.Lease-leaseMargin(g.cfg.Lease)))
	defer dcancel()

	fail := func(kind string, errcode int) (Result, error, bool) {
		err := g.persist(dctx, func(ctx context.Context) error {
			fence.Waiters = g.joinedSoFar(f)
			err := g.store.FailExchange(ctx, h.code, fence, errcode, kind)
			if errors.Is(err, models.ErrLostLease) {
				return backoffStop{err}
			}
			if err == nil {
				g.counted(f, fence.Waiters)
			}
			return err
		})
		if err != nil {
			g.cfg.Logger.ErrorContext(ctx, "recording a failed exchange", "err", err, "kind", kind)
		}
		return Result{}, &Failed{Kind: kind, ErrCode: errcode}, errors.Is(err, models.ErrLostLease)
	}

	step, ok := g.steps[req.kind()]
	if !ok {
		return fail("wechat", 0) // unreachable: Exchange refuses unknown kinds before claiming
	}
	login, err := step.Login(wctx, req.Code, prior)
	if err != nil {
		f := &Failed{Kind: "store"}
		errors.As(err, &f)
		return fail(f.Kind, f.ErrCode)
	}
	login.Refresh = req.Refresh
	var (
		uid       int64
		disabled  bool
		completed bool
		session   string
	)
	// The user and, where the store can, the finished row and the session
	// in one write.
	err = g.persist(dctx, func(ctx context.Context) (err error) {
		fence.Waiters = g.joinedSoFar(f)
		var done models.Completed
		done, err = g.store.RecordLoginCompleting(ctx, login, h.code, fence, req.Session)
		uid, disabled, completed, session = done.UserID, done.Disabled, done.Row, ""
		if done.Session {
			session = req.Session.IDHash
		}
		if errors.Is(err, models.ErrLostLease) {
			return backoffStop{err}
		}
		if err == nil && completed {
			g.counted(f, fence.Waiters)
		}
		return err
	})
	if err != nil && !errors.Is(err, models.ErrLostLease) {
		g.cfg.Logger.ErrorContext(ctx, "storing the user failed", "err", err)
		return fail("store", 0)
	}
	if !completed {
		err = g.persist(dctx, func(ctx context.Context) error {
			fence.Waiters = g.joinedSoFar(f)
			err := g.store.CompleteExchange(ctx, h.code, fence, uid, login.OpenID)
			if errors.Is(err, models.ErrLostLease) {
				return backoffStop{err}
			}
			if err == nil {
				g.counted(f, fence.Waiters)
			}
			return err
		})
	}
	if err != nil {
		// The user is stored and this browser is entitled to log in: its
		// own code logged it in. Waiters go by the row.
		g.cfg.Logger.ErrorContext(ctx, "recording a finished exchange", "err", err)
	}
	return Result{UserID: uid, OpenID: login.OpenID, UnionID: login.UnionID, Next: next, Disabled: disabled, Session: session}, nil, errors.Is(err, models.ErrLostLease)
}

// webStep is the web login's WeChat part: the code exchange, the profile
// for snsapi_userinfo, and the user's tokens sealed for storage.
type webStep struct{ g *Gate }

func (s webStep) Login(ctx context.Context, code, prior string) (models.Login, error) {
	g := s.g
	tok, err := g.wx.ExchangeCode(ctx, code)
	if err != nil {
		kind, code := classify(err)
		g.cfg.Logger.WarnContext(ctx, "code exchange failed", "kind", kind, "errcode", code, "err", err)
		return models.Login{}, &Failed{Kind: kind, ErrCode: code}
	}
	if tok.IsSnapshotUser == 1 {
		return models.Login{}, &Failed{Kind: "snapshot"}
	}
	if prior != "" && tok.OpenID != prior {
		// Another code of this state already logged somebody in: a state
		// logs in one person, whoever presents its cookie.
		g.cfg.Metrics.Event("mismatch")
		g.cfg.Logger.WarnContext(ctx, "a second code of a state belongs to another person; refused")
		return models.Login{}, &Failed{Kind: models.KindMismatch}
	}
	var profile *models.Profile
	if strings.Contains(tok.Scope, "snsapi_userinfo") {
		info, err := g.wx.UserInfo(ctx, tok.AccessToken, tok.OpenID, g.cfg.Lang)
		if err != nil {
			kind, code := classify(err)
			if kind == models.KindRejected {
				kind = "wechat" // a userinfo error is not about the code
			}
			g.cfg.Logger.WarnContext(ctx, "userinfo failed after retries", "kind", kind, "errcode", code, "err", err)
			return models.Login{}, &Failed{Kind: kind, ErrCode: code}
		}
		profile = ProfileOf(info, g.cfg.Lang)
		if tok.UnionID == "" {
			tok.UnionID = info.UnionID
		}
	}
	now := time.Now().UTC()
	ad := []byte(tok.OpenID)
	accessEnc, err1 := g.sealer.Seal([]byte(tok.AccessToken), ad)
	refreshEnc, err2 := g.sealer.Seal([]byte(tok.RefreshToken), ad)
	if err := errors.Join(err1, err2); err != nil {
		return models.Login{}, &Failed{Kind: "store"}
	}
	return models.Login{
		App: models.AppOA, AppID: g.cfg.AppID,
		OpenID: tok.OpenID, UnionID: tok.UnionID, Scope: tok.Scope, Profile: profile,
		AccessTokenEnc: accessEnc, AccessTokenExpiresAt: now.Add(time.Duration(tok.ExpiresIn) * time.Second),
		RefreshTokenEnc: refreshEnc, RefreshTokenExpiresAt: now.Add(30 * 24 * time.Hour),
		At: now,
	}, nil
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
			return models.KindRejected, code
		case code == wechat.ErrCodeSystemBusy:
			return "unavailable", code
		default:
			return "wechat", code
		}
	}
	return "unavailable", 0
}

// backoffStop marks an error that retrying cannot fix.
type backoffStop struct{ error }

func (b backoffStop) Unwrap() error { return b.error }

// persist runs a database operation, retrying with capped exponential
// backoff while ctx allows: a Postgres restart takes a second or two, and a
// login whose code is already spent should survive it.
func (g *Gate) persist(ctx context.Context, op func(context.Context) error) error {
	wait := 20 * time.Millisecond
	for {
		err := op(ctx)
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
