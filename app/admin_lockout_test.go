package app

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"wxlogin/admin"
)

// Wrong passwords lock the account after AccountMax attempts: then even the
// right password gets 429 with a clear page, until the lock runs out on the
// server's clock — and then the admin gets in.
func TestAdminLockoutPerAccountAndRelease(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	p := admin.DefaultPolicy
	b := newBrowser(t)
	for i := range p.AccountMax {
		if r := w.adminLogin(b, adminName, "wrong-"+fmtInt(i)); r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d, want 401", i+1, r.Status)
		}
	}
	r := w.adminLogin(b, adminName, adminPassword)
	if r.Status != http.StatusTooManyRequests || setCookie(r, adminCookie) != nil {
		t.Fatalf("right password while locked: %d, want 429 and no session", r.Status)
	}
	if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Errorf("429 without Retry-After")
	}
	for _, want := range []string{"已暂时锁定", "自动解除", "wxlogin admin unlock"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("429 page lacks %q", want)
		}
	}
	// Case games do not get around it; another browser neither.
	if r := w.adminLogin(newBrowser(t), strings.ToUpper(adminName), adminPassword); r.Status != http.StatusTooManyRequests {
		t.Errorf("upper-case name while locked: %d", r.Status)
	}
	if n := w.auditCount("login_failed"); n != int64(p.AccountMax) {
		t.Errorf("%d login_failed audit entries, want %d", n, p.AccountMax)
	}
	if n := w.auditCount("login_locked"); n != 1 {
		t.Errorf("%d login_locked audit entries, want exactly 1", n)
	}

	w.clk.Advance(p.LockFor - time.Minute)
	if r := w.adminLogin(b, adminName, adminPassword); r.Status != http.StatusTooManyRequests {
		t.Fatalf("a minute before the lock ends: %d", r.Status)
	}
	w.clk.Advance(time.Minute + time.Second)
	if r := w.adminLogin(b, adminName, adminPassword); r.Status != http.StatusSeeOther || r.Location != "/admin" {
		t.Fatalf("after the lock ran out: %d %q, want 303 /admin", r.Status, r.Location)
	}
	// A success starts the count over: AccountMax more wrong tries are allowed.
	for i := range p.AccountMax {
		if r := w.adminLogin(newBrowser(t), adminName, "again-"+fmtInt(i)); r.Status != http.StatusUnauthorized {
			t.Fatalf("wrong password %d after a success: %d, want 401", i+1, r.Status)
		}
	}
}

// Failures spread out over more than the window never lock.
func TestAdminFailuresOutsideTheWindowDoNotLock(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	p := admin.DefaultPolicy
	b := newBrowser(t)
	for i := range 3 * p.AccountMax {
		if r := w.adminLogin(b, adminName, "slow-"+fmtInt(i)); r.Status != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d, want 401", i+1, r.Status)
		}
		w.clk.Advance(p.Window / time.Duration(p.AccountMax-1))
	}
	if r := w.adminLogin(b, adminName, adminPassword); r.Status != http.StatusSeeOther {
		t.Fatalf("right password: %d", r.Status)
	}
}

// One address trying many accounts is locked after IPMax attempts, for
// every account, including a real admin with the right password; it runs
// out too.
func TestAdminLockoutPerAddress(t *testing.T) {
	pol := admin.Policy{AccountMax: 100, IPMax: 4, Window: 15 * time.Minute, LockFor: 15 * time.Minute}
	w := newAdminWorld(t, pol)
	for _, name := range []string{"a1", "a2", "a3", "a4"} {
		w.createAdmin(name, adminPassword)
	}
	b := newBrowser(t)
	for _, name := range []string{"a1", "a2", "a3", "a4"} {
		if r := w.adminLogin(b, name, "nope-nope-nope"); r.Status != http.StatusUnauthorized {
			t.Fatalf("%s: %d, want 401", name, r.Status)
		}
	}
	if r := w.adminLogin(b, adminName, adminPassword); r.Status != http.StatusTooManyRequests {
		t.Fatalf("right password from a locked address: %d, want 429", r.Status)
	}
	w.clk.Advance(pol.LockFor + time.Second)
	if r := w.adminLogin(b, adminName, adminPassword); r.Status != http.StatusSeeOther {
		t.Fatalf("after the address lock ran out: %d", r.Status)
	}
}

// Concurrent guesses cannot race past the limit: the attempt is counted in
// one UPSERT before the password is checked, so of many simultaneous wrong
// passwords exactly AccountMax are checked and the rest get 429.
func TestAdminLockoutHoldsUnderConcurrentGuesses(t *testing.T) {
	w := newAdminWorld(t, admin.Policy{})
	p := admin.DefaultPolicy
	const n = 24
	// One login form per guess, each with its own token cookie.
	type guess struct {
		b    *browser
		form url.Values
	}
	guesses := make([]guess, n)
	for i := range guesses {
		b := newBrowser(t)
		f := b.get(w.in.URL + "/admin/login")
		guesses[i] = guess{b, url.Values{"csrf": {hiddenCSRF(t, f.Body)}, "username": {adminName}, "password": {"guess-" + fmtInt(i)}}}
	}
	pages := race(t, n, func(i int) (page, error) {
		return tryPostForm(guesses[i].b, w.in.URL+"/admin/login", guesses[i].form, nil)
	})
	counts := map[int]int{}
	for _, pg := range pages {
		counts[pg.Status]++
	}
	if counts[http.StatusUnauthorized] != p.AccountMax || counts[http.StatusTooManyRequests] != n-p.AccountMax {
		t.Fatalf("answers %v: want %d × 401 and %d × 429", counts, p.AccountMax, n-p.AccountMax)
	}
	var failures int
	key := admin.AccountAddressKey(adminName, "127.0.0.1")
	if err := w.db.Gorm.WithContext(context.Background()).Raw("SELECT failures FROM login_throttle WHERE key = ?", key).Scan(&failures).Error; err != nil {
		t.Fatal(err)
	}
	if failures != p.AccountMax+1 {
		t.Errorf("throttle row counts %d, want %d", failures, p.AccountMax+1)
	}
}

// One attacker guessing an admin's password locks only themselves out: the
// admin, from another address, still gets in. Many addresses together reach
// the account-wide limit; that lock refuses only addresses that have failed
// themselves, and runs out too.
func TestAdminOneAttackerCannotLockTheAdminOut(t *testing.T) {
	pol := admin.Policy{AccountMax: 5, AccountTotalMax: 8, IPMax: 20, Window: 15 * time.Minute, LockFor: 15 * time.Minute}
	w := newAdminWorldWith(t, pol, map[string]string{"TRUSTED_PROXIES": "127.0.0.1"})
	from := func(ip string) http.Header { return http.Header{"X-Forwarded-For": {ip}} }
	attacker, desk := from("203.0.113.9"), from("198.51.100.7")
	for i := range pol.AccountMax {
		if r := w.adminLoginWith(newBrowser(t), adminName, "guess-"+fmtInt(i), attacker); r.Status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i+1, r.Status)
		}
	}
	if r := w.adminLoginWith(newBrowser(t), adminName, adminPassword, attacker); r.Status != http.StatusTooManyRequests {
		t.Fatalf("attacker after %d guesses: %d, want 429 even with the right password", pol.AccountMax, r.Status)
	}
	if r := w.adminLoginWith(newBrowser(t), adminName, adminPassword, desk); r.Status != http.StatusSeeOther {
		t.Fatalf("the admin at their desk: %d, want 303", r.Status)
	}
	// Many addresses, a few guesses each: the account-wide limit (8; the
	// admin's success gave its attempt back, 5 remain) is reached. The
	// attempt that sets the account-wide lock is still checked: its address
	// had not failed before.
	for i := range 3 {
		if r := w.adminLoginWith(newBrowser(t), adminName, "spread", from("192.0.2."+fmtInt(10+i))); r.Status != http.StatusUnauthorized {
			t.Fatalf("spread guess %d: %d", i+1, r.Status)
		}
	}
	if r := w.adminLoginWith(newBrowser(t), adminName, "spread", from("192.0.2.99")); r.Status != http.StatusUnauthorized {
		t.Fatalf("the guess that sets the account-wide lock, from a fresh address: %d, want 401", r.Status)
	}
	// The lock refuses every address that has failed, even with the right
	// password — never the admin at their desk.
	for _, ip := range []string{"192.0.2.99", "192.0.2.10", "203.0.113.9"} {
		if r := w.adminLoginWith(newBrowser(t), adminName, adminPassword, from(ip)); r.Status != http.StatusTooManyRequests {
			t.Fatalf("%s during the account-wide lock: %d, want 429", ip, r.Status)
		}
	}
	if r := w.adminLoginWith(newBrowser(t), adminName, adminPassword, desk); r.Status != http.StatusSeeOther {
		t.Fatalf("the admin at their desk during an account-wide lock: %d, want 303", r.Status)
	}
	w.clk.Advance(pol.LockFor + time.Second)
	if r := w.adminLoginWith(newBrowser(t), adminName, adminPassword, from("192.0.2.99")); r.Status != http.StatusSeeOther {
		t.Fatalf("a failed address after the lock ran out: %d", r.Status)
	}
	// The audit log names the addresses.
	var ips []string
	w.db.Gorm.Raw("SELECT DISTINCT ip FROM audit_log ORDER BY ip").Scan(&ips)
	if fmt.Sprint(ips) != "[192.0.2.10 192.0.2.11 192.0.2.12 192.0.2.99 198.51.100.7 203.0.113.9]" {
		t.Errorf("audit addresses %v", ips)
	}
}

// Each wrong password is answered more slowly than the one before (on top
// of bcrypt's cost), up to a cap; a right one is not slowed.
func TestAdminWrongPasswordsAreSlowed(t *testing.T) {
	var mu sync.Mutex
	var waits []time.Duration
	e := newEnv(t)
	in := e.start("a", nil, Options{Admin: func(d *admin.Deps) {
		d.Sleep = func(_ context.Context, d time.Duration) {
			mu.Lock()
			waits = append(waits, d)
			mu.Unlock()
		}
		d.Policy = admin.Policy{AccountMax: 20, IPMax: 50, Window: time.Hour, LockFor: time.Hour,
			SlowStep: 300 * time.Millisecond, SlowMax: time.Second}
	}})
	w := &adminWorld{t: t, e: e, in: in, clk: newClock(), db: in.App.DB}
	w.createAdmin(adminName, adminPassword)
	b := newBrowser(t)
	for i := range 5 {
		w.adminLogin(b, adminName, "wrong-"+fmtInt(i))
	}
	w.adminLogin(b, adminName, adminPassword)
	mu.Lock()
	defer mu.Unlock()
	want := []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, 900 * time.Millisecond, time.Second, time.Second}
	if fmt.Sprint(waits) != fmt.Sprint(want) {
		t.Fatalf("waits %v, want %v (and none for the right password)", waits, want)
	}
}
