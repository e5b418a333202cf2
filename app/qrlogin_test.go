package app

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"wxlogin/qrlogin"
)

// The computer logs in by QR code across instances: it shows the code and
// polls instance 1, the phone scans, logs in and confirms on instance 2,
// and the computer's next poll is confirmed and logged in — once.
func TestQRLoginAcrossInstances(t *testing.T) {
	e := newEnv(t)
	in1, in2 := e.start("one", nil, Options{}), e.start("two", nil, Options{})
	pc, phone := newComputer(t), newBrowser(t)

	ticket := showCode(t, pc, in1)
	if code, st := poll(t, pc, in1, ticket); code != http.StatusOK || st != qrlogin.Waiting {
		t.Fatalf("before the scan: %d %q", code, st)
	}
	csrf := e.scanAndLogIn(phone, in2, "zhangsan", ticket)
	if _, st := poll(t, pc, in1, ticket); st != qrlogin.Scanned {
		t.Fatalf("after the scan: %q, want scanned", st)
	}
	if profileOK(t, pc, in1) {
		t.Fatal("the computer is logged in before anybody confirmed")
	}
	if p := decide(t, phone, in2, ticket, csrf, "confirm"); p.Status != http.StatusOK || !strings.Contains(p.Body, "已确认登录") {
		t.Fatalf("confirm: %d %.200q", p.Status, p.Body)
	}
	before := pc.jarCookie(in1)
	if code, st := poll(t, pc, in1, ticket); code != http.StatusOK || st != qrlogin.Confirmed {
		t.Fatalf("after confirm: %d %q, want confirmed", code, st)
	}
	if pc.jarCookie(in1) == before {
		t.Fatal("the computer's session id was not renewed at login")
	}
	for _, in := range []*instance{in1, in2} {
		if p := pc.get(in.URL + "/profile"); p.Status != http.StatusOK || !strings.Contains(p.Body, "张三") {
			t.Fatalf("profile on %s: %d", in.URL, p.Status)
		}
	}
	// Confirmed is answered once: the next poll (a new session) gets 404.
	if code, _ := poll(t, pc, in1, ticket); code != http.StatusNotFound {
		t.Fatalf("poll after login: %d, want 404", code)
	}
	// The login log has the computer login with the approving phone session.
	var n int64
	in1.App.DB.Gorm.Raw(`SELECT count(*) FROM qr_logins WHERE status = 'confirmed' AND consumed_at IS NOT NULL
	  AND approver_session_hash IS NOT NULL AND user_agent LIKE '%Windows%'`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d consumed qr_logins rows with an approver, want 1", n)
	}
}

// Every way of misusing a ticket is refused, and nobody is logged in by it.
func TestQRLoginAttacks(t *testing.T) {
	e := newEnv(t)
	clock := &testClock{}
	in := e.start("one", nil, Options{Now: clock.now})

	// fresh is a code on a new computer, scanned by a phone logged in as zhangsan.
	type world struct {
		pc, phone    *browser
		ticket, csrf string
	}
	fresh := func(t *testing.T) world {
		w := world{pc: newComputer(t), phone: newBrowser(t)}
		w.ticket = showCode(t, w.pc, in)
		w.csrf = e.scanAndLogIn(w.phone, in, "zhangsan", w.ticket)
		return w
	}
	notLoggedIn := func(t *testing.T, bs ...*browser) {
		t.Helper()
		for _, b := range bs {
			if profileOK(t, b, in) {
				t.Fatal("a browser was logged in by a refused request")
			}
		}
	}

	t.Run("third browser polls", func(t *testing.T) {
		w := fresh(t)
		third := newComputer(t)
		showCode(t, third, in) // a session of its own
		if p := decide(t, w.phone, in, w.ticket, w.csrf, "confirm"); p.Status != http.StatusOK {
			t.Fatalf("confirm: %d", p.Status)
		}
		for _, b := range []*browser{third, newComputer(t)} {
			if code, st := poll(t, b, in, w.ticket); code != http.StatusNotFound || st != "" {
				t.Fatalf("third browser's poll: %d %q, want 404", code, st)
			}
			if p := b.get(in.URL + "/login/qr?t=" + w.ticket); p.Status != http.StatusNotFound {
				t.Fatalf("third browser's check: %d, want 404", p.Status)
			}
		}
		notLoggedIn(t, third)
		// The owner still gets its answer.
		if _, st := poll(t, w.pc, in, w.ticket); st != qrlogin.Confirmed || !profileOK(t, w.pc, in) {
			t.Fatalf("owner after the third browser: %q", st)
		}
	})

	t.Run("third browser confirms", func(t *testing.T) {
		w := fresh(t)
		third := newBrowser(t)
		e.login(third, in, "english")
		// With the phone's token: bound to the phone's session, refused.
		if p := decide(t, third, in, w.ticket, w.csrf, "confirm"); p.Status != http.StatusForbidden {
			t.Fatalf("third browser with the phone's token: %d, want 403", p.Status)
		}
		// Scanning it too: a code two people scanned is void.
		if p := third.get(in.URL + "/login/qr/scan?t=" + w.ticket); p.Status != http.StatusGone || !strings.Contains(p.Body, "已作废") {
			t.Fatalf("second person's scan: %d, want 410 and the void page", p.Status)
		}
		if p := decide(t, w.phone, in, w.ticket, w.csrf, "confirm"); p.Status != http.StatusGone {
			t.Fatalf("confirm after a second person's scan: %d, want 410", p.Status)
		}
		if _, st := poll(t, w.pc, in, w.ticket); st != qrlogin.Cancelled {
			t.Fatalf("computer after a second person's scan: %q, want cancelled", st)
		}
		notLoggedIn(t, w.pc)
	})

	t.Run("confirm without CSRF", func(t *testing.T) {
		w := fresh(t)
		for _, tok := range []string{"", "x", w.csrf[:len(w.csrf)-1], strings.Repeat("A", len(w.csrf))} {
			if p := decide(t, w.phone, in, w.ticket, tok, "confirm"); p.Status != http.StatusForbidden && p.Status != http.StatusBadRequest {
				t.Fatalf("token %q: %d, want 403/400", tok, p.Status)
			}
		}
		if _, st := poll(t, w.pc, in, w.ticket); st != qrlogin.Scanned {
			t.Fatalf("after refused confirms: %q, want scanned", st)
		}
		notLoggedIn(t, w.pc)
	})

	t.Run("confirm twice", func(t *testing.T) {
		w := fresh(t)
		old := w.pc.jarCookie(in)
		if p := decide(t, w.phone, in, w.ticket, w.csrf, "confirm"); p.Status != http.StatusOK {
			t.Fatalf("first confirm: %d", p.Status)
		}
		if p := decide(t, w.phone, in, w.ticket, w.csrf, "confirm"); p.Status != http.StatusGone || !strings.Contains(p.Body, "已经确认过") {
			t.Fatalf("second confirm: %d, want 410", p.Status)
		}
		if _, st := poll(t, w.pc, in, w.ticket); st != qrlogin.Confirmed {
			t.Fatalf("computer: %q", st)
		}
		// Reuse after confirm: the computer's pre-login cookie, replayed,
		// gets no second login; the phone's scan says it was used.
		replay := newComputer(t)
		replay.setJarCookie(in, old)
		if code, st := poll(t, replay, in, w.ticket); st == qrlogin.Confirmed || code == http.StatusOK && st != qrlogin.Expired {
			t.Fatalf("replayed pre-login cookie: %d %q", code, st)
		}
		notLoggedIn(t, replay)
		if p := w.phone.get(in.URL + "/login/qr/scan?t=" + w.ticket); p.Status != http.StatusGone || !strings.Contains(p.Body, "已被使用") {
			t.Fatalf("scan after use: %d", p.Status)
		}
	})

	t.Run("reuse after cancel", func(t *testing.T) {
		w := fresh(t)
		if p := decide(t, w.phone, in, w.ticket, w.csrf, "cancel"); p.Status != http.StatusOK || !strings.Contains(p.Body, "已取消") {
			t.Fatalf("cancel: %d", p.Status)
		}
		if _, st := poll(t, w.pc, in, w.ticket); st != qrlogin.Cancelled {
			t.Fatalf("computer after cancel: %q", st)
		}
		if p := w.pc.get(in.URL + "/login/qr?t=" + w.ticket); !strings.Contains(p.Body, "已取消登录") || !strings.Contains(p.Body, `href="/login/qr"`) {
			t.Fatalf("computer's page after cancel: %d", p.Status)
		}
		if p := decide(t, w.phone, in, w.ticket, w.csrf, "confirm"); p.Status != http.StatusGone {
			t.Fatalf("confirm after cancel: %d, want 410", p.Status)
		}
		if p := w.phone.get(in.URL + "/login/qr/scan?t=" + w.ticket); p.Status != http.StatusGone {
			t.Fatalf("scan after cancel: %d, want 410", p.Status)
		}
		notLoggedIn(t, w.pc)
	})

	t.Run("reuse after expiry", func(t *testing.T) {
		w := fresh(t)
		clock.advance(qrlogin.DefaultTTL + time.Second)
		if p := decide(t, w.phone, in, w.ticket, w.csrf, "confirm"); p.Status != http.StatusGone || !strings.Contains(p.Body, "已过期") {
			t.Fatalf("confirm after expiry: %d", p.Status)
		}
		if _, st := poll(t, w.pc, in, w.ticket); st != qrlogin.Expired {
			t.Fatalf("computer after expiry: %q", st)
		}
		if p := w.pc.get(in.URL + "/login/qr?t=" + w.ticket); !strings.Contains(p.Body, "二维码已过期") {
			t.Fatalf("computer's page after expiry: %d", p.Status)
		}
		notLoggedIn(t, w.pc)
	})

	t.Run("confirmed but collected too late", func(t *testing.T) {
		w := fresh(t)
		if p := decide(t, w.phone, in, w.ticket, w.csrf, "confirm"); p.Status != http.StatusOK {
			t.Fatalf("confirm: %d", p.Status)
		}
		clock.advance(qrlogin.DefaultPickUp + time.Second)
		if _, st := poll(t, w.pc, in, w.ticket); st != qrlogin.Expired {
			t.Fatalf("late poll: %q, want expired", st)
		}
		notLoggedIn(t, w.pc)
	})

	t.Run("guessed or truncated ticket", func(t *testing.T) {
		w := fresh(t)
		b := make([]byte, 24)
		_, _ = rand.Read(b)
		guess := base64.RawURLEncoding.EncodeToString(b)
		for _, tk := range []string{guess, w.ticket[:31], w.ticket[:16], w.ticket + "A", strings.ToUpper(w.ticket), "", "../../etc"} {
			if code, _ := poll(t, w.pc, in, tk); code != http.StatusNotFound {
				t.Fatalf("poll %q: %d, want 404", tk, code)
			}
			if p := w.phone.get(in.URL + "/login/qr/scan?t=" + tk); p.Status != http.StatusNotFound && tk != strings.ToUpper(w.ticket) {
				t.Fatalf("scan %q: %d, want 404", tk, p.Status)
			}
			if p := decide(t, w.phone, in, tk, w.csrf, "confirm"); p.Status < 400 {
				t.Fatalf("confirm %q: %d", tk, p.Status)
			}
		}
		if _, st := poll(t, w.pc, in, w.ticket); st != qrlogin.Scanned {
			t.Fatalf("the real ticket: %q, want scanned", st)
		}
		notLoggedIn(t, w.pc)
	})

	t.Run("ticket of another computer", func(t *testing.T) {
		w := fresh(t)
		other := newComputer(t)
		mine := showCode(t, other, in)
		if p := decide(t, w.phone, in, w.ticket, w.csrf, "confirm"); p.Status != http.StatusOK {
			t.Fatalf("confirm: %d", p.Status)
		}
		if code, _ := poll(t, other, in, w.ticket); code != http.StatusNotFound {
			t.Fatalf("other computer polling this ticket: %d, want 404", code)
		}
		if _, st := poll(t, other, in, mine); st != qrlogin.Waiting {
			t.Fatalf("other computer's own ticket: %q", st)
		}
		notLoggedIn(t, other)
	})

	t.Run("status flooded by one client", func(t *testing.T) {
		w := fresh(t)
		flood := newComputer(t)
		showCode(t, flood, in)
		codes := make([]int, 50)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				p, err := flood.tryGet(t.Context(), in.URL+"/login/qr/status?t="+w.ticket)
				if err == nil {
					codes[i] = p.Status
				}
			}()
		}
		close(start)
		wg.Wait()
		limited := 0
		for _, c := range codes {
			switch c {
			case http.StatusTooManyRequests:
				limited++
			case http.StatusNotFound:
			default:
				t.Fatalf("flood answer %d", c)
			}
		}
		if limited < 30 {
			t.Fatalf("%d of 50 requests limited, want most", limited)
		}
		if p := decide(t, w.phone, in, w.ticket, w.csrf, "confirm"); p.Status != http.StatusOK {
			t.Fatalf("confirm: %d", p.Status)
		}
		if code, st := poll(t, w.pc, in, w.ticket); code != http.StatusOK || st != qrlogin.Confirmed {
			t.Fatalf("owner during the flood: %d %q", code, st)
		}
		notLoggedIn(t, flood)
	})
}

// Ending a user's sessions ends their computer logins too, and withdraws an
// approval no computer has collected yet.
func TestQRLoginEndedWithUserSessions(t *testing.T) {
	e := newEnv(t)
	in := e.start("one", nil, Options{})
	pc, phone := newComputer(t), newBrowser(t)
	ticket := showCode(t, pc, in)
	csrf := e.scanAndLogIn(phone, in, "zhangsan", ticket)
	decide(t, phone, in, ticket, csrf, "confirm")
	if _, st := poll(t, pc, in, ticket); st != qrlogin.Confirmed || !profileOK(t, pc, in) {
		t.Fatalf("login: %q", st)
	}
	uid := e.userIDOf(in, "zhangsan")

	pc2, phone2 := newComputer(t), newBrowser(t)
	t2 := showCode(t, pc2, in)
	csrf2 := e.scanAndLogIn(phone2, in, "zhangsan", t2)
	decide(t, phone2, in, t2, csrf2, "confirm")

	if _, err := in.App.DB.DeleteUserSessions(t.Context(), uid); err != nil {
		t.Fatal(err)
	}
	if profileOK(t, pc, in) {
		t.Fatal("the computer's session survived ending the user's sessions")
	}
	if _, st := poll(t, pc2, in, t2); st == qrlogin.Confirmed || profileOK(t, pc2, in) {
		t.Fatalf("an approval given before the sessions ended logged a computer in afterwards (%q)", st)
	}
}

// The ticket and the confirmation token are secrets: never in the logs
// (debug level, every request of a whole login and of refused attempts),
// never in a status answer, and the computer's page without script still
// logs in through its "check" button (GET /login/qr?t=) exactly once.
func TestQRTicketNeverLoggedAndNoScriptCheck(t *testing.T) {
	e := newEnv(t)
	in := e.start("one", nil, Options{})
	pc, phone := newComputer(t), newBrowser(t)
	ticket := showCode(t, pc, in)
	if p := pc.get(in.URL + "/login/qr?t=" + ticket); p.Status != http.StatusOK || !strings.Contains(p.Body, `data-ticket="`+ticket+`"`) {
		t.Fatalf("check before the scan: %d, want the same code again", p.Status)
	}
	csrf := e.scanAndLogIn(phone, in, "zhangsan", ticket)
	decide(t, phone, in, ticket, csrf+"x", "confirm")
	poll(t, newComputer(t), in, ticket)
	status := pc.get(in.URL + "/login/qr/status?t=" + ticket)
	if strings.Contains(status.Body, ticket) {
		t.Fatal("the status answer repeats the ticket")
	}
	decide(t, phone, in, ticket, csrf, "confirm")
	p := pc.get(in.URL + "/login/qr?t=" + ticket)
	if p.Status != http.StatusSeeOther || p.Location != "/profile" || !profileOK(t, pc, in) {
		t.Fatalf("no-script check after confirm: %d %q", p.Status, p.Location)
	}
	// Logged in now: the code page sends the computer on to the profile.
	if p := pc.get(in.URL + "/login/qr?t=" + ticket); p.Status != http.StatusFound || p.Location != "/profile" {
		t.Fatalf("check when logged in: %d %q", p.Status, p.Location)
	}
	logs := e.Logs.String()
	if !strings.Contains(logs, "/login/qr/status") {
		t.Fatal("the logs hold no QR login request: they are not being captured")
	}
	for _, s := range []string{ticket, csrf} {
		if i := strings.Index(logs, s); i >= 0 {
			t.Errorf("a QR login secret is in the logs: …%s…", excerpt(logs, i))
		}
	}
}
