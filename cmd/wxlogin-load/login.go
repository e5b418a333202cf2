package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// androidUA is what Android WeChat's in-app browser sends; wxlogin only
// starts a login for WeChat's browser.
const androidUA = "Mozilla/5.0 (Linux; Android 13; wv) AppleWebKit/537.36 Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560 WeChat/arm64"

// maxBody bounds what is read of any answer; wxlogin's pages are small.
const maxBody = 256 << 10

// sample is what one login measured.
type sample struct {
	Start    time.Time
	OK       bool
	Reason   string // why it failed; "" when OK
	Total    time.Duration
	Callback time.Duration // first callback sent -> the answer the browser follows
	Scope    string
	Dup      bool
	Variant  string
	// Cross: the aborted first callback and the duplicate went to different -url.
	Cross bool
	// AfterOwner is the duplicate's answer minus the aborted first request's
	// end (see abort.go); valid when HaveAfter.
	AfterOwner time.Duration
	HaveAfter  bool
	// ReachedCallback: WeChat gave this login a code, so it owes one exchange.
	ReachedCallback bool
	// FirstNeverOwned: the aborted first request ended before reaching the
	// exchange gate, so there was no owner to be answered after.
	FirstNeverOwned bool
	// Restarted: WeChat rejected the code, wxlogin restarted the login and
	// the browser followed it to a second code (which owes its own exchange).
	Restarted  bool
	Browser5xx int // 5xx answers the browser saw
	Aborted5xx int // 5xx answered to the aborted first request (nobody sees it)
}

// plan is what one login will do.
type plan struct {
	user    string
	dup     bool
	variant string // A or B
	urls    func() *url.URL
}

// browser is one fresh phone: a new cookie jar per login, because a storm
// is many followers logging in once each, not one follower many times.
type browser struct {
	cfg    *config
	tr     *http.Transport
	dialer *net.Dialer
	jar    *cookiejar.Jar
	client *http.Client
	hdr    map[string]string // extra headers of the next api call (mini mode)
}

func newBrowser(cfg *config, tr *http.Transport, dialer *net.Dialer) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{cfg: cfg, tr: tr, dialer: dialer, jar: jar, client: &http.Client{
		Transport:     tr,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type answer struct {
	status   int
	location string
	header   http.Header
	body     []byte
}

// get sends one GET as this browser and reads the answer.
func (b *browser) get(ctx context.Context, rawURL string, hdr map[string]string) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("User-Agent", androidUA)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := b.client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return answer{}, err
	}
	return answer{status: res.StatusCode, location: res.Header.Get("Location"), header: res.Header, body: body}, nil
}

// login runs one complete login and says what it measured.
func (b *browser) login(ctx context.Context, p plan) (s sample) {
	s.Start = time.Now()
	s.Dup, s.Variant = p.dup, p.variant
	defer func() { s.Total = time.Since(s.Start) }()
	fail := func(step string, a answer, err error) sample {
		s.Reason = reason(step, a, err)
		if err == nil && a.status >= 500 {
			s.Browser5xx++
		}
		return s
	}

	// 1. The menu entry: a state bound to a new session, and a 302 to WeChat.
	entryURL := p.urls().String() + "/wechat/entry?next=%2Fprofile"
	if b.cfg.scope != "" {
		entryURL += "&scope=" + b.cfg.scope
	}
	a, err := b.get(ctx, entryURL, nil)
	if err != nil || a.status != http.StatusFound || a.location == "" {
		return fail("entry", a, err)
	}

	// 2. WeChat's authorize page, answered headlessly by the simulator.
	authURL, err := url.Parse(strings.TrimSuffix(a.location, "#wechat_redirect"))
	if err != nil || !b.allowed(authURL) {
		s.Reason = "entry: authorize URL is not on this machine"
		return s
	}
	s.Scope = authURL.Query().Get("scope")
	hdr := map[string]string{"X-Sim-User": p.user, "X-Sim-Action": "allow"}
	if p.dup {
		hdr["X-Sim-Double"] = p.variant
	}
	a, err = b.get(ctx, authURL.String(), hdr)
	if err != nil || a.status != http.StatusFound || a.location == "" {
		return fail("authorize", a, err)
	}
	first, second := a.location, a.header.Get("X-Sim-Second-Location")
	if p.dup && second == "" {
		s.Reason = "authorize: simulator gave no second callback (X-Sim-Double unsupported?)"
		return s
	}
	s.ReachedCallback = true

	// 3. The callback: once, or Android's aborted first plus the duplicate.
	cb1, err := onInstance(first, p.urls())
	if err != nil {
		s.Reason = "authorize: " + err.Error()
		return s
	}
	var cbStart time.Time
	if !p.dup {
		cbStart = time.Now()
		a, err = b.get(ctx, cb1.String(), nil)
		s.Callback = time.Since(cbStart)
	} else {
		cb2, perr := onInstance(second, p.urls())
		if perr != nil {
			s.Reason = "authorize: " + perr.Error()
			return s
		}
		s.Cross = cb1.Host != cb2.Host
		cbStart = time.Now()
		owner, oerr := b.sendAborted(ctx, cb1)
		if oerr != nil {
			return fail("aborted callback", answer{}, oerr)
		}
		a, err = b.get(ctx, cb2.String(), nil)
		dupEnd := time.Now()
		s.Callback = dupEnd.Sub(cbStart)
		o := owner.wait(b.cfg.timeout + time.Second)
		if o.status >= 500 {
			s.Aborted5xx++
		}
		switch {
		case o.ended && (o.status == http.StatusOK || o.status == http.StatusFound):
			// 200: the handler saw the abort after the exchange gate
			// returned (wxlogin writes nothing; Gin sends an empty 200).
			// 302: it finished before the abort. Either way it ended when
			// its exchange did.
			s.AfterOwner, s.HaveAfter = dupEnd.Sub(o.at), true
		case o.ended:
			// Any other answer: the abort reached the server before the
			// request got to the gate (a queue longer than -abort-after),
			// so the duplicate owned the exchange itself.
			s.FirstNeverOwned = true
		}
	}
	if err != nil || a.status != http.StatusFound {
		return fail("callback", a, err)
	}
	if loc := a.location; loc != "/profile" {
		if !strings.HasPrefix(loc, "/wechat/entry") {
			s.Reason = "callback: redirected elsewhere than /profile"
			return s
		}
		// WeChat rejected the code and wxlogin restarted the login, as it
		// does once; a real browser follows that redirect, so the tool does.
		s.Restarted = true
		a, err = b.followRestart(ctx, p, loc)
		if err != nil || a.status != http.StatusFound || a.location != "/profile" {
			return fail("restarted login", a, err)
		}
	}

	// 4. The page the person came for.
	a, err = b.get(ctx, p.urls().String()+"/profile", nil)
	if err != nil || a.status != http.StatusOK {
		return fail("profile", a, err)
	}
	s.OK = true
	return s
}

// followRestart walks a restarted login: entry, headless authorize (no
// double callback this time), callback.
func (b *browser) followRestart(ctx context.Context, p plan, entryPath string) (answer, error) {
	inst := p.urls()
	a, err := b.get(ctx, inst.String()+entryPath, nil)
	if err != nil || a.status != http.StatusFound {
		return a, err
	}
	authURL, err := url.Parse(strings.TrimSuffix(a.location, "#wechat_redirect"))
	if err != nil || !b.allowed(authURL) {
		return answer{}, fmt.Errorf("authorize URL is not on this machine")
	}
	a, err = b.get(ctx, authURL.String(), map[string]string{"X-Sim-User": p.user, "X-Sim-Action": "allow"})
	if err != nil || a.status != http.StatusFound {
		return a, err
	}
	cb, err := onInstance(a.location, inst)
	if err != nil {
		return answer{}, err
	}
	return b.get(ctx, cb.String(), nil)
}

// allowed keeps the storm on this machine: URLs the servers hand out are
// followed only to loopback hosts (or anywhere with -allow-remote).
func (b *browser) allowed(u *url.URL) bool {
	return (u.Scheme == "http" || u.Scheme == "https") && (b.cfg.allowRemote || isLoopback(u.Hostname()))
}

// onInstance points a callback URL at one wxlogin instance: WeChat sends
// the browser to BASE_URL, which a load balancer would spread over the
// instances; here the load tool is the load balancer.
func onInstance(callback string, inst *url.URL) (*url.URL, error) {
	u, err := url.Parse(callback)
	if err != nil || u.Path != "/wechat/callback" {
		return nil, fmt.Errorf("unexpected callback URL")
	}
	u.Scheme, u.Host = inst.Scheme, inst.Host
	return u, nil
}

// reason names a failed step briefly and boundedly: step, then the status
// or the kind of transport error.
func reason(step string, a answer, err error) string {
	switch {
	case err == nil && a.status == http.StatusFound:
		return fmt.Sprintf("%s: redirected elsewhere", step)
	case err == nil:
		return fmt.Sprintf("%s: HTTP %d", step, a.status)
	case errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err):
		return step + ": timeout"
	case errors.Is(err, context.Canceled):
		return step + ": interrupted"
	case errors.Is(err, syscall.ECONNREFUSED):
		return step + ": connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return step + ": connection reset"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return step + ": out of local ports"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return step + ": connection closed early"
	}
	return step + ": transport error"
}
