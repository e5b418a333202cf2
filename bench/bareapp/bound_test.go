package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// wechatMeter sits in front of the fake WeChat and counts the code
// exchanges (sns/oauth2/access_token, the calls that carry a code and the
// secret), the most of them in flight at once; latency is WeChat's time per
// exchange, so that exchanges let loose together overlap there.
type wechatMeter struct {
	delegate http.RoundTripper
	latency  time.Duration

	mu                           sync.Mutex
	calls, inFlight, maxInFlight int
}

func (m *wechatMeter) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/sns/oauth2/access_token") {
		return m.delegate.RoundTrip(r)
	}
	m.mu.Lock()
	m.calls++
	m.inFlight++
	m.maxInFlight = max(m.maxInFlight, m.inFlight)
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.inFlight--
		m.mu.Unlock()
	}()
	if m.latency > 0 {
		t := time.NewTimer(m.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	return m.delegate.RoundTrip(r)
}

func (m *wechatMeter) counts() (calls, maxInFlight int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls, m.maxInFlight
}

// entryState runs the entry as p and returns WeChat's authorize URL and
// the state the yardstick put into it.
func (w *world) entryState(p *phone) (authURL, state string) {
	w.t.Helper()
	res, _ := p.mustGet(w.url+"/wechat/entry?next=%2Fprofile", nil)
	if res.StatusCode != http.StatusFound {
		w.t.Fatalf("entry: %d", res.StatusCode)
	}
	authURL = strings.TrimSuffix(res.Header.Get("Location"), "#wechat_redirect")
	return authURL, mustQuery(w.t, authURL).Get("state")
}

// code asks the simulator for one more code of the authorization at
// authURL (its state), as user, and returns the callback URL.
func (w *world) code(p *phone, authURL, user string) string {
	w.t.Helper()
	res, body := p.mustGet(authURL, map[string]string{"X-Sim-User": user, "X-Sim-Action": "allow"})
	if res.StatusCode != http.StatusFound {
		w.t.Fatalf("authorize: %d %s", res.StatusCode, body)
	}
	return res.Header.Get("Location")
}

// TestVariantBLogsInWithBothCodesExchangedOnce: Android's variant B (a
// second, fresh code for the same state, the first request aborted while
// its exchange is at WeChat) logs the person in, with and without the
// per-state bound, and WeChat sees each of the two codes exactly once.
// With the bound the second code waits for the first's outcome.
func TestVariantBLogsInWithBothCodesExchangedOnce(t *testing.T) {
	for _, bound := range []bool{true, false} {
		t.Run(fmt.Sprintf("bound=%v", bound), func(t *testing.T) {
			hold := &holdToken{entered: make(chan struct{}), release: make(chan struct{}), delegate: http.DefaultTransport}
			w := startWorld(t, bound, hold)
			p := newPhone(t)
			res, _ := p.mustGet(w.url+"/wechat/entry?next=%2Fprofile", nil)
			auth := strings.TrimSuffix(res.Header.Get("Location"), "#wechat_redirect")
			res, body := p.mustGet(auth, map[string]string{"X-Sim-User": "zhangsan", "X-Sim-Action": "allow", "X-Sim-Double": "B"})
			cb1, cb2 := res.Header.Get("Location"), res.Header.Get("X-Sim-Second-Location")
			code1, code2 := mustQuery(t, cb1).Get("code"), mustQuery(t, cb2).Get("code")
			if res.StatusCode != http.StatusFound || code1 == "" || code2 == "" || code1 == code2 {
				t.Fatalf("authorize: %d %s: want two codes", res.StatusCode, body)
			}

			firstCtx, abort := context.WithCancel(context.Background())
			firstDone := make(chan error, 1)
			go func() {
				_, _, err := p.get(firstCtx, cb1, nil)
				firstDone <- err
			}()
			<-hold.entered // the first code is claimed and at WeChat
			abort()
			<-firstDone
			type answer struct {
				res *http.Response
				err error
			}
			second := make(chan answer, 1)
			go func() {
				res, _, err := p.get(context.Background(), cb2, nil)
				second <- answer{res, err}
			}()
			close(hold.release)
			a := <-second
			if a.err != nil {
				t.Fatalf("second callback: %v", a.err)
			}
			if a.res.StatusCode != http.StatusFound || a.res.Header.Get("Location") != "/profile" {
				t.Fatalf("second callback: %d %q, want 302 /profile", a.res.StatusCode, a.res.Header.Get("Location"))
			}
			for _, c := range []string{code1, code2} {
				if n := w.sim.ExchangeCount(c); n != 1 {
					t.Fatalf("a code exchanged %d times, want 1", n)
				}
			}
			if res, body := p.mustGet(w.url+"/profile", nil); res.StatusCode != http.StatusOK || !strings.Contains(body, "张三") {
				t.Fatalf("profile: %d, body has no 张三", res.StatusCode)
			}
		})
	}
}

// TestRejectedCodeUsesUpTheState: after WeChat rejected a made-up code of
// a state, the bound lets no further code of that state reach WeChat, made
// up or real; without the bound every code costs a WeChat call (the hole
// issue 17 finding 3 closed in wxlogin).
func TestRejectedCodeUsesUpTheState(t *testing.T) {
	tests := []struct {
		bound     bool
		wantCalls int // access_token calls after all three callbacks
		wantReal  int // status of the state's real code after the rejection
	}{
		{bound: true, wantCalls: 1, wantReal: http.StatusBadGateway},
		{bound: false, wantCalls: 3, wantReal: http.StatusFound},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("bound=%v", tt.bound), func(t *testing.T) {
			meter := &wechatMeter{delegate: http.DefaultTransport}
			w := startWorld(t, tt.bound, meter)
			p := newPhone(t)
			auth, state := w.entryState(p)
			for i, code := range []string{"MADEUPCODE0001", "MADEUPCODE0002"} {
				res, _ := p.mustGet(w.url+"/wechat/callback?code="+code+"&state="+state, nil)
				if res.StatusCode != http.StatusBadGateway {
					t.Fatalf("made-up code %d: %d, want 502", i+1, res.StatusCode)
				}
			}
			if calls, _ := meter.counts(); tt.bound && calls != 1 {
				t.Fatalf("%d WeChat calls after two made-up codes, want 1", calls)
			}
			cb := w.code(p, auth, "zhangsan")
			res, _ := p.mustGet(cb, nil)
			if res.StatusCode != tt.wantReal {
				t.Fatalf("real code after a rejected one: %d, want %d", res.StatusCode, tt.wantReal)
			}
			if calls, _ := meter.counts(); calls != tt.wantCalls {
				t.Fatalf("%d WeChat calls, want %d", calls, tt.wantCalls)
			}
			want := 1
			if tt.bound {
				want = 0
			}
			if n := w.sim.ExchangeCount("MADEUPCODE0002"); n != want {
				t.Fatalf("the second made-up code reached WeChat %d times, want %d", n, want)
			}
		})
	}
}

// TestConcurrentCodesOfOneStateOneAtATime: many codes of one state, sent
// by one browser session at the same moment, reach WeChat one at a time
// under the bound, and each is still exchanged (once) and logs in.
func TestConcurrentCodesOfOneStateOneAtATime(t *testing.T) {
	const n = 16
	meter := &wechatMeter{delegate: http.DefaultTransport, latency: 5 * time.Millisecond}
	w := startWorld(t, true, meter)
	p := newPhone(t)
	auth, _ := w.entryState(p)
	cookie := p.c.Jar.Cookies(mustURL(t, w.url))
	if len(cookie) != 1 {
		t.Fatalf("%d cookies after the entry, want the pre-login one", len(cookie))
	}
	callbacks := make([]string, n)
	for i := range callbacks {
		callbacks[i] = w.code(p, auth, "zhangsan")
	}
	// Every request carries the pre-login cookie: a shared jar would hand
	// the later ones the first login's new session instead.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	start := make(chan struct{})
	type answer struct {
		status   int
		location string
		err      error
	}
	answers := make(chan answer, n)
	var wg sync.WaitGroup
	for _, cb := range callbacks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodGet, cb, nil)
			req.AddCookie(cookie[0])
			<-start
			res, err := client.Do(req)
			if err != nil {
				answers <- answer{err: err}
				return
			}
			res.Body.Close()
			answers <- answer{status: res.StatusCode, location: res.Header.Get("Location")}
		}()
	}
	close(start)
	wg.Wait()
	close(answers)
	for a := range answers {
		if a.err != nil || a.status != http.StatusFound || a.location != "/profile" {
			t.Errorf("callback: %d %q %v, want 302 /profile", a.status, a.location, a.err)
		}
	}
	calls, most := meter.counts()
	if most != 1 {
		t.Errorf("%d WeChat exchanges of one state in flight at once, want 1", most)
	}
	if calls != n {
		t.Errorf("%d WeChat exchanges for %d codes", calls, n)
	}
	for _, cb := range callbacks {
		if c := mustQuery(t, cb).Get("code"); w.sim.ExchangeCount(c) != 1 {
			t.Errorf("a code exchanged %d times, want 1", w.sim.ExchangeCount(c))
		}
	}
}

func mustURL(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
