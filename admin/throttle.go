package admin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"wxlogin/models"
)

// The admin login throttle counts every attempt, before the password is
// looked at, under these keys of login_throttle (see models.ThrottleAttempt),
// with client addresses in ClientAddress's units (IPv4, or an IPv6 /64):
//
//   - the client address (IPMax): one machine trying many accounts;
//   - the account from that address (AccountMax): guessing one password;
//   - the account from one known device (AccountMax), when the request
//     carries a valid known-device cookie for the account (device.go);
//   - the account from all addresses (AccountTotalMax): guessing it from
//     many machines.
//
// Every lock runs out after LockFor. Which locks stop a request:
//
//   - A request's "own" key is its device's if it presents a known-device
//     cookie for the account, else its address's for the account. Its own
//     lock always stops it: a device cookie never excuses the device's own
//     wrong passwords.
//   - The address lock stops requests without a known-device cookie. A
//     known device is judged by its own failures only: the address may be
//     locked by others behind the same NAT or in the same /64.
//   - The account-wide lock stops only requests whose own key has failed in
//     the current window. An address (or device) that has not failed itself
//     — the admin at their desk — is never refused because other addresses
//     failed: otherwise anyone with a few addresses could keep the admin out
//     for good by renewing the lock every LockFor.
//
// The price of the last rule, argued: while the account-wide lock holds, a
// fresh address still gets its password checked once per window, then is
// refused (its own key now shows a failure). An attacker with many addresses
// thus gets one guess per address (per IPv6 /64) per window instead of
// AccountMax — the lock still cuts a spread attack's rate AccountMax-fold,
// against a bcrypt hash of a password `wxlogin admin create` refused to take
// weak. Locking unknown addresses instead would block the admin on any
// network they had not logged in from with that browser, which is the
// lock-out this design exists to prevent. The decision rests on the values
// each single UPSERT returns, so concurrent requests from one fresh address
// get exactly one check between them.

// AccountKey is the key of an account from all addresses. Names differing
// only in case share it, so case games do not multiply the attempts.
func AccountKey(username string) string { return "acct:" + accountName(username) }

// accountName is the account's part of a key. Admin names are letters,
// digits, '.', '_' and '-'; a typed name with anything else (no such admin
// exists) is keyed by its hash, so that a name like "ops|ip:198.51.100.7"
// cannot count against — and lock — another account's per-address key.
func accountName(username string) string {
	n := strings.ToLower(username)
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			sum := sha256.Sum256([]byte(n))
			return "#" + hex.EncodeToString(sum[:16])
		}
	}
	return n
}

// AccountPrefix starts every key of an account under one address or device
// (account names never contain "|"): `wxlogin admin unlock` clears them all.
func AccountPrefix(username string) string { return AccountKey(username) + "|" }

// AccountAddressKey is the key of an account from one client address.
func AccountAddressKey(username, ip string) string {
	return AccountPrefix(username) + "ip:" + ClientAddress(ip)
}

// AccountDeviceKey is the key of an account from one known device.
func AccountDeviceKey(username, deviceID string) string {
	return AccountPrefix(username) + "dev:" + deviceID
}

// AddressKey is the key of a client address.
func AddressKey(ip string) string { return "ip:" + ClientAddress(ip) }

// Lock details, for the audit log and the server log.
const (
	detailAddress        = "网络地址锁定"
	detailAccountAddress = "账号在该地址锁定"
	detailAccountDevice  = "账号在该设备锁定"
	detailAccount        = "账号锁定（多个地址）"
)

// lockEvent is a lock on an account that one attempt set.
type lockEvent struct {
	detail string
	until  time.Time
}

// attempt is what counting one login attempt found.
type attempt struct {
	locked     *time.Time  // set: refuse with 429 until then
	lockDetail string      // which limit, for the log
	newLocks   []lockEvent // account locks this attempt set, for the audit log
	failures   int         // recent attempts on the account from this address or device
}

// countAttempt counts one attempt and decides whether it is refused (see
// the rules above). dev is the request's verified known-device cookie for
// this account, or nil. Without one, a locked address touches no account's
// counts.
func (a *Admin) countAttempt(ctx context.Context, username, ip string, dev *device, now time.Time) (attempt, error) {
	p := a.policy
	var out attempt
	count := func(key string, max int, detail string) (models.Throttle, error) {
		t, err := a.db.ThrottleAttempt(ctx, key, now, p.Window, p.LockFor, max)
		if err == nil && detail != "" && justLocked(t, now, p.LockFor) {
			out.newLocks = append(out.newLocks, lockEvent{detail, *t.LockedUntil})
		}
		return t, err
	}
	refuse := func(t models.Throttle, detail string) (attempt, error) {
		out.locked, out.lockDetail = t.LockedUntil, detail
		return out, nil
	}
	addr, err := count(AddressKey(ip), p.IPMax, "")
	if err != nil {
		return attempt{}, err
	}
	if dev == nil && addr.Locked(now) {
		return refuse(addr, detailAddress)
	}
	own, err := count(AccountAddressKey(username, ip), p.AccountMax, detailAccountAddress)
	if err != nil {
		return attempt{}, err
	}
	ownDetail := detailAccountAddress
	if dev != nil {
		if own, err = count(AccountDeviceKey(username, dev.ID), p.AccountMax, detailAccountDevice); err != nil {
			return attempt{}, err
		}
		ownDetail = detailAccountDevice
	}
	out.failures = own.Failures
	if own.Locked(now) {
		return refuse(own, ownDetail)
	}
	total, err := count(AccountKey(username), p.AccountTotalMax, detailAccount)
	if err != nil {
		return attempt{}, err
	}
	// own.Failures counts this attempt: more than one means this address
	// or device has tried (and not succeeded) before, in this window.
	if total.Locked(now) && own.Failures > 1 {
		return refuse(total, detailAccount)
	}
	return out, nil
}

// goodAttempt follows a right password. The failures of the address (or
// device) that logged in are forgotten; the other keys get this attempt
// back (an attack elsewhere keeps counting). A known device's login gives
// its address's count for the account only this attempt back: others
// behind that address may be guessing.
func (a *Admin) goodAttempt(ctx context.Context, username, ip string, dev *device) error {
	refund := []string{AddressKey(ip), AccountKey(username)}
	clear := AccountAddressKey(username, ip)
	if dev != nil {
		refund = append(refund, clear)
		clear = AccountDeviceKey(username, dev.ID)
	}
	if _, err := a.db.ThrottleClear(ctx, clear); err != nil {
		return err
	}
	for _, k := range refund {
		if err := a.db.ThrottleRefund(ctx, k); err != nil {
			return err
		}
	}
	return nil
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
