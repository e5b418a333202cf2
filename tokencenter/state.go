package tokencenter

import (
	"context"
	"fmt"
	"time"
)

// State is what the admin pages show of the token: never the token itself.
type State struct {
	AppID       string
	HasToken    bool
	Dead        bool // refused by WeChat, no force allowed yet
	FetchedAt   *time.Time
	ExpiresAt   *time.Time
	Age         time.Duration
	ExpiresIn   time.Duration
	FetchedBy   string
	FetchMode   string // "normal" or "force"
	ForcesLeft  int    // forced refreshes WeChat allows today, as counted here
	LastForceAt *time.Time
	// NextForceAt is when a forced refresh is allowed again (zero: now).
	NextForceAt   time.Time
	LastErrorCode int
	LastError     string // Chinese
	LastErrorAt   *time.Time
	RetryAt       *time.Time // every instance holds off until then
	Now           time.Time  // the database's clock at the read
}

// State reads the row.
func (c *Center) State(ctx context.Context) (State, error) {
	row, err := c.store.AccountToken(ctx, c.appid)
	if err != nil {
		return State{}, err
	}
	s := State{AppID: c.appid, HasToken: len(row.TokenEnc) > 0, FetchedAt: row.FetchedAt, ExpiresAt: row.ExpiresAt,
		FetchedBy: row.FetchedBy, FetchMode: row.FetchMode, LastForceAt: row.LastForceAt,
		LastErrorCode: row.LastErrorCode, LastError: row.LastError, LastErrorAt: row.LastErrorAt, Now: row.Now,
		Dead: len(row.TokenEnc) > 0 && row.DeadVersion == row.Version}
	if row.RetryAt != nil && row.RetryAt.After(row.Now) {
		s.RetryAt = row.RetryAt
	}
	if row.FetchedAt != nil {
		s.Age = row.Now.Sub(*row.FetchedAt)
	}
	s.ExpiresIn = max(remaining(row), 0)
	s.ForcesLeft = c.cfg.ForceDaily
	if row.ForceDay == beijingDay(row.Now) {
		s.ForcesLeft = max(c.cfg.ForceDaily-row.ForceCount, 0)
	}
	if row.LastForceAt != nil {
		if next := row.LastForceAt.Add(c.cfg.ForceInterval); next.After(row.Now) {
			s.NextForceAt = next
		}
	}
	return s, nil
}

// Force makes one forced refresh now (the admin pages' button), within the
// same limits as an automatic one: the lease, 20 a day and 30 s apart,
// counted in the database. It returns ErrForceTooSoon, ErrForceLimit,
// ErrBusy or a *FetchError when it did not happen.
func (c *Center) Force(ctx context.Context) error {
	if err := c.acquire(ctx); err != nil {
		return err
	}
	defer c.release()
	deadline := c.cfg.Now().Add(c.cfg.Wait)
	for {
		row, err := c.store.AccountToken(ctx, c.appid)
		if err != nil {
			return err
		}
		if err := c.forceBlocked(row); err != nil {
			return err
		}
		owner := c.cfg.Instance + "/" + randomHex(6)
		claimed, err := c.store.ClaimAccountTokenLease(ctx, c.appid, owner, row.Version, c.cfg.Lease)
		if err != nil {
			return err
		}
		if claimed {
			ok, err := c.store.CountAccountTokenForce(ctx, c.appid, owner, beijingDay(row.Now), c.cfg.ForceDaily, c.cfg.ForceInterval)
			if err != nil || !ok {
				_ = c.store.ReleaseAccountTokenLease(context.WithoutCancel(ctx), c.appid, owner)
				if err != nil {
					return err
				}
				return ErrForceTooSoon
			}
			fctx, cancel := context.WithTimeout(ctx, c.cfg.Lease*2/3)
			defer cancel()
			t, err := c.wx.StableToken(fctx, true)
			if err != nil {
				return c.recordError(ctx, row, owner, err)
			}
			c.log.WarnContext(ctx, "access token force-refreshed by an operator", "appid", c.appid)
			_, err = c.keep(ctx, owner, "force", t)
			return err
		}
		if !c.cfg.Now().Before(deadline) {
			return ErrBusy
		}
		if !sleep(ctx, 100*time.Millisecond) {
			return fmt.Errorf("tokencenter: %w", ctx.Err())
		}
	}
}
