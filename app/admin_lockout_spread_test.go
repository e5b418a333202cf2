package app

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"wxlogin/admin"
)

// Tests of the account-wide lock against many addresses, the known-device
// cookie and IPv6 counting (issue 17, finding 5). Requests come from made-up
// addresses through X-Forwarded-For behind a trusted proxy.

func fromAddr(ip string) http.Header { return http.Header{"X-Forwarded-For": {ip}} }

const deviceCookieName = "wxl_admin_device"

// loginFrom fills in the admin login form in b from address ip. The
// browser's admin session, if any, is forgotten first: a known browser comes
// back after its session ended, with only its known-device cookie.
func (w *adminWorld) loginFrom(b *browser, ip, name, password string) page {
	w.t.Helper()
	b.jar.SetCookies(mustURL(w.t, w.in.URL+"/admin"), []*http.Cookie{{Name: adminCookie, Path: "/admin", MaxAge: -1}})
	return w.adminLoginWith(b, name, password, fromAddr(ip))
}

// knownBrowser logs the admin in from ip and returns the browser, now a
// known device of the admin.
func (w *adminWorld) knownBrowser(ip string) *browser {
	w.t.Helper()
	b := newBrowser(w.t)
	r := w.loginFrom(b, ip, adminName, adminPassword)
	if r.Status != http.StatusSeeOther {
		w.t.Fatalf("login from %s: %d, want 303", ip, r.Status)
	}
	c := setCookie(r, deviceCookieName)
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/admin" || c.MaxAge != 365*24*3600 {
		w.t.Fatalf("known-device cookie %+v: want HttpOnly, SameSite=Lax, Path=/admin, a year", c)
	}
	return b
}

// The attack of the issue: AccountMax wrong passwords from each of enough
// addresses to reach AccountTotalMax, renewed every LockFor. The admin at
// their desk — a new browser at an address that has not failed, or a known
// browser at any address — gets in every time; an address or device that
// has failed itself is refused while the account-wide lock holds.
func TestAdminSpreadAttackNeverLocksOutTheAdminAtTheirDesk(t *testing.T) {
	w := newAdminWorldWith(t, admin.Policy{}, map[string]string{"TRUSTED_PROXIES": "127.0.0.1"})
	p := admin.DefaultPolicy
	w.createAdmin("mallory", "Mallory-Own-Passphrase-1")
	laptop := w.knownBrowser("198.51.100.20")
	tablet := w.knownBrowser("198.51.100.21")
	// An admin account of the attacker's own: its known device is not one of ops's.
	mallory := newBrowser(t)
	if r := w.loginFrom(mallory, "192.0.2.200", "mallory", "Mallory-Own-Passphrase-1"); r.Status != http.StatusSeeOther {
		t.Fatalf("mallory's own login: %d", r.Status)
	}

	attackers := p.AccountTotalMax / p.AccountMax
	for round := range 3 {
		for i := range attackers {
			ip := "192.0.2." + fmtInt(10+i)
			for j := range p.AccountMax {
				if r := w.loginFrom(newBrowser(t), ip, adminName, "spread-"+fmtInt(j)); r.Status != http.StatusUnauthorized {
					t.Fatalf("round %d, %s guess %d: %d, want 401", round, ip, j+1, r.Status)
				}
			}
		}
		// One more address: its attempt sets the account-wide lock, and is
		// checked (once) since that address had not failed before.
		if r := w.loginFrom(newBrowser(t), "192.0.2.50", adminName, "one-more"); r.Status != http.StatusUnauthorized {
			t.Fatalf("round %d, the attempt that sets the account-wide lock: %d, want 401", round, r.Status)
		}
		cases := []struct {
			name     string
			b        *browser
			ip, user string
			password string
			want     int
		}{
			{"an address that failed, right password", newBrowser(t), "192.0.2.50", adminName, adminPassword, http.StatusTooManyRequests},
			{"an attacking address, right password", newBrowser(t), "192.0.2.10", adminName, adminPassword, http.StatusTooManyRequests},
			{"another admin's known device at a failed address", mallory, "192.0.2.50", adminName, adminPassword, http.StatusTooManyRequests},
			{"a fresh address, a wrong guess", newBrowser(t), "192.0.2.60", adminName, "fresh-guess", http.StatusUnauthorized},
			{"that address again", newBrowser(t), "192.0.2.60", adminName, "fresh-guess-2", http.StatusTooManyRequests},
			{"the admin at their desk, a new browser", newBrowser(t), "198.51.100.7", adminName, adminPassword, http.StatusSeeOther},
			{"the admin's known browser at an attacking address", laptop, "192.0.2.10", adminName, adminPassword, http.StatusSeeOther},
			{"a known device's own wrong password", tablet, "198.51.100.21", adminName, "typo", http.StatusUnauthorized},
			{"that device again, right password", tablet, "198.51.100.21", adminName, adminPassword, http.StatusTooManyRequests},
			{"that device's address in a new browser", newBrowser(t), "198.51.100.21", adminName, adminPassword, http.StatusTooManyRequests},
		}
		for _, c := range cases {
			if r := w.loginFrom(c.b, c.ip, c.user, c.password); r.Status != c.want {
				t.Fatalf("round %d, %s: %d, want %d", round, c.name, r.Status, c.want)
			}
		}
		w.clk.Advance(p.LockFor + time.Second)
		// The tablet's failure is over with the window: it logs in again.
		if r := w.loginFrom(tablet, "198.51.100.21", adminName, adminPassword); r.Status != http.StatusSeeOther {
			t.Fatalf("round %d, the tablet after the lock: %d, want 303", round, r.Status)
		}
	}
	// Each renewal of the account-wide lock is audited once.
	if n := w.auditCount("login_locked"); n < 3 {
		t.Errorf("%d login_locked audit entries, want one per account-wide lock at least", n)
	}
}

// A known device is judged by its own failures: wrong passwords from it
// lock it, whatever address it comes from, while a new browser elsewhere
// still gets in.
func TestAdminKnownDeviceCountsItsOwnFailures(t *testing.T) {
	w := newAdminWorldWith(t, admin.Policy{}, map[string]string{"TRUSTED_PROXIES": "127.0.0.1"})
	p := admin.DefaultPolicy
	known := w.knownBrowser("198.51.100.7")
	for i := range p.AccountMax {
		// A new address for every guess: no address reaches its limit.
		if r := w.loginFrom(known, "203.0.113."+fmtInt(10+i), adminName, "wrong-"+fmtInt(i)); r.Status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i+1, r.Status)
		}
	}
	if r := w.loginFrom(known, "203.0.113.99", adminName, adminPassword); r.Status != http.StatusTooManyRequests {
		t.Fatalf("the device after %d wrong passwords: %d, want 429", p.AccountMax, r.Status)
	}
	if r := w.loginFrom(newBrowser(t), "198.51.100.8", adminName, adminPassword); r.Status != http.StatusSeeOther {
		t.Fatalf("a new browser elsewhere: %d, want 303", r.Status)
	}
	w.clk.Advance(p.LockFor + time.Second)
	if r := w.loginFrom(known, "203.0.113.99", adminName, adminPassword); r.Status != http.StatusSeeOther {
		t.Fatalf("the device after its lock ran out: %d, want 303", r.Status)
	}
}

// An attacker behind the admin's NAT locks the shared address (IPMax): a
// new browser there is refused, the admin's known browser there is not.
func TestAdminKnownDeviceSurvivesItsSharedAddressLock(t *testing.T) {
	pol := admin.Policy{AccountMax: 100, IPMax: 4, Window: 15 * time.Minute, LockFor: 15 * time.Minute}
	w := newAdminWorldWith(t, pol, map[string]string{"TRUSTED_PROXIES": "127.0.0.1"})
	const nat = "203.0.113.9"
	known := w.knownBrowser(nat)
	for _, name := range []string{"a1", "a2", "a3", "a4"} {
		if r := w.loginFrom(newBrowser(t), nat, name, "nope-nope-nope"); r.Status != http.StatusUnauthorized {
			t.Fatalf("%s: %d, want 401", name, r.Status)
		}
	}
	if r := w.loginFrom(newBrowser(t), nat, adminName, adminPassword); r.Status != http.StatusTooManyRequests {
		t.Fatalf("a new browser at the locked address: %d, want 429", r.Status)
	}
	if r := w.loginFrom(known, nat, adminName, adminPassword); r.Status != http.StatusSeeOther {
		t.Fatalf("the admin's known browser at the locked address: %d, want 303", r.Status)
	}
}

// Addresses are counted per IPv6 /64 and IPv4-mapped IPv6 as IPv4: IPMax
// attempts spread over one /64 (or over both notations of one IPv4
// address) lock it, and another /64 (address) is not affected.
func TestAdminAddressesCountPerIPv6Slash64(t *testing.T) {
	for _, tt := range []struct {
		name          string
		failing       []string
		locked, other string
	}{
		{"IPv6 /64",
			[]string{"2001:db8:1:2::a", "2001:db8:1:2::b", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:DB8:1:2:0:0:0:c"},
			"2001:db8:1:2:ffff::1", "2001:db8:1:3::1"},
		{"IPv4-mapped IPv6",
			[]string{"192.0.2.1", "::ffff:192.0.2.1", "::ffff:c000:201", "192.0.2.1"},
			"::ffff:192.0.2.1", "192.0.2.2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			pol := admin.Policy{AccountMax: 100, IPMax: len(tt.failing), Window: 15 * time.Minute, LockFor: 15 * time.Minute}
			w := newAdminWorldWith(t, pol, map[string]string{"TRUSTED_PROXIES": "127.0.0.1"})
			for i, ip := range tt.failing {
				if r := w.loginFrom(newBrowser(t), ip, "name"+fmtInt(i), "nope-nope-nope"); r.Status != http.StatusUnauthorized {
					t.Fatalf("%s: %d, want 401", ip, r.Status)
				}
			}
			if r := w.loginFrom(newBrowser(t), tt.locked, adminName, adminPassword); r.Status != http.StatusTooManyRequests {
				t.Fatalf("%s after %d failures in its unit: %d, want 429", tt.locked, len(tt.failing), r.Status)
			}
			if r := w.loginFrom(newBrowser(t), tt.other, adminName, adminPassword); r.Status != http.StatusSeeOther {
				t.Fatalf("%s: %d, want 303", tt.other, r.Status)
			}
		})
	}
}

// A typed user name cannot reach into another account's keys: locking the
// "account" named "ops|ip:ADDR" from many addresses does not lock ops at
// ADDR.
func TestAdminTypedNameCannotLockAnotherAccountsAddress(t *testing.T) {
	pol := admin.Policy{AccountMax: 3, AccountTotalMax: 6, IPMax: 20, Window: 15 * time.Minute, LockFor: 15 * time.Minute}
	w := newAdminWorldWith(t, pol, map[string]string{"TRUSTED_PROXIES": "127.0.0.1"})
	const desk = "198.51.100.7"
	for i := range 4 {
		for range 2 {
			r := w.loginFrom(newBrowser(t), "192.0.2."+fmtInt(10+i), adminName+"|ip:"+desk, "guess")
			if r.Status != http.StatusUnauthorized && r.Status != http.StatusTooManyRequests {
				t.Fatalf("guess: %d", r.Status)
			}
		}
	}
	if r := w.loginFrom(newBrowser(t), desk, adminName, adminPassword); r.Status != http.StatusSeeOther {
		t.Fatalf("the admin at their desk: %d, want 303", r.Status)
	}
}

// While the account-wide lock holds, a fresh address gets exactly one
// password check however many requests it sends at once: the decision rests
// on the count each UPSERT returns, not on a read before the write.
func TestAdminAccountLockGivesAFreshAddressOneCheckUnderConcurrency(t *testing.T) {
	pol := admin.Policy{AccountMax: 5, AccountTotalMax: 3, IPMax: 50, Window: 15 * time.Minute, LockFor: 15 * time.Minute}
	w := newAdminWorldWith(t, pol, map[string]string{"TRUSTED_PROXIES": "127.0.0.1"})
	for i := range pol.AccountTotalMax + 1 {
		if r := w.loginFrom(newBrowser(t), "192.0.2."+fmtInt(10+i), adminName, "spread"); r.Status != http.StatusUnauthorized {
			t.Fatalf("spread guess %d: %d, want 401", i+1, r.Status)
		}
	}
	const n = 12
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
		return tryPostForm(guesses[i].b, w.in.URL+"/admin/login", guesses[i].form, fromAddr("192.0.2.77"))
	})
	counts := map[int]int{}
	for _, pg := range pages {
		counts[pg.Status]++
	}
	if counts[http.StatusUnauthorized] != 1 || counts[http.StatusTooManyRequests] != n-1 {
		t.Fatalf("answers %v: want 1 × 401 and %d × 429", counts, n-1)
	}
}
