package admin

import (
	"context"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"wxlogin/models"
)

// The admin login throttle counts every attempt, before the password is
// looked at, under three keys of login_throttle (see models.ThrottleAttempt):
//
//   - the client address (IPMax): one machine trying many accounts;
//   - the account from that address (AccountMax): guessing one password;
//   - the account from all addresses (AccountTotalMax): guessing it from
//     many machines.
//
// Every lock runs out after LockFor. Keeping the tight per-account limit per
// address means one attacker can lock only themselves out, never the admin
// at their own desk; only a many-address attack reaches the account-wide
// limit, and that lock too runs out (or `wxlogin admin unlock` ends it).

// AccountKey is the key of an account from all addresses. Names differing
// only in case share it, so case games do not multiply the attempts.
func AccountKey(username string) string { return "acct:" + strings.ToLower(username) }

// AccountAddressKey is the key of an account from one client address.
func AccountAddressKey(username, ip string) string { return AccountKey(username) + "|ip:" + ip }

// AddressKey is the key of a client address.
func AddressKey(ip string) string { return "ip:" + ip }

// attempt is what counting one login attempt found.
type attempt struct {
	locked            *time.Time // set: refuse with 429 until then
	lockDetail        string     // which limit, for the audit log
	justLockedAccount bool       // this attempt set an account lock
	failures          int        // recent attempts on the account from this address
}

// countAttempt counts one attempt under the three keys, address first (a
// locked address touches no account's counts).
func (a *Admin) countAttempt(ctx context.Context, username, ip string, now time.Time) (attempt, error) {
	p := a.policy
	keys := []struct {
		key, detail string
		max         int
		account     bool
	}{
		{AddressKey(ip), "网络地址锁定", p.IPMax, false},
		{AccountAddressKey(username, ip), "账号在该地址锁定", p.AccountMax, true},
		{AccountKey(username), "账号锁定（多个地址）", p.AccountTotalMax, true},
	}
	var out attempt
	for _, k := range keys {
		t, err := a.db.ThrottleAttempt(ctx, k.key, now, p.Window, p.LockFor, k.max)
		if err != nil {
			return attempt{}, err
		}
		if k.key == AccountAddressKey(username, ip) {
			out.failures = t.Failures
		}
		if t.Locked(now) {
			out.locked, out.lockDetail = t.LockedUntil, k.detail
			out.justLockedAccount = k.account && justLocked(t, now, p.LockFor)
			return out, nil
		}
	}
	return out, nil
}

// goodAttempt follows a right password: the account's count from this
// address is forgotten; the address and the account-wide counts get this
// attempt back (an attack elsewhere keeps counting).
func (a *Admin) goodAttempt(ctx context.Context, username, ip string) error {
	if _, err := a.db.ThrottleClear(ctx, AccountAddressKey(username, ip)); err != nil {
		return err
	}
	if err := a.db.ThrottleRefund(ctx, AddressKey(ip)); err != nil {
		return err
	}
	return a.db.ThrottleRefund(ctx, AccountKey(username))
}

// justLocked reports whether this attempt is the one that set the lock: the
// lock ends exactly LockFor after now (to the database's precision).
func justLocked(t models.Throttle, now time.Time, lockFor time.Duration) bool {
	return t.LockedUntil != nil && t.LockedUntil.Sub(now.Add(lockFor)).Abs() < time.Millisecond
}

// purgeEvery is how often an instance deletes stale throttle rows.
const purgeEvery = 10 * time.Minute

// purgeThrottle deletes stale login_throttle rows, at most every purgeEvery
// per instance, on the login path: the table only grows there.
func (a *Admin) purgeThrottle(c *gin.Context, now time.Time) {
	last := a.lastPurge.Load()
	if now.Unix()-last < int64(purgeEvery/time.Second) || !a.lastPurge.CompareAndSwap(last, now.Unix()) {
		return
	}
	if _, err := a.db.PurgeThrottle(c.Request.Context(), now, a.policy.Window); err != nil {
		a.log.WarnContext(c.Request.Context(), "purging the login throttle", "err", err)
	}
}
