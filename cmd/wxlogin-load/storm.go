package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// storm runs the load and gathers the results.
func storm(ctx context.Context, cfg *config, stderr io.Writer) (*Result, error) {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:               nil, // a storm never goes through a proxy from the environment
		DialContext:         dialer.DialContext,
		MaxIdleConns:        4 * cfg.browsers,
		MaxIdleConnsPerHost: 2 * cfg.browsers,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	ctl := &control{cfg: cfg, hc: &http.Client{Transport: tr, Timeout: 10 * time.Second}}

	if cfg.latency >= 0 {
		if err := ctl.setLatency(ctx, cfg.latency); err != nil {
			return nil, fmt.Errorf("setting the simulator's latency: %w", err)
		}
	}
	simBefore, err := ctl.simStats(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the simulator's counters (is -sim right?): %w", err)
	}
	metBefore := ctl.scrapeAll(ctx)
	var ruBefore syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ruBefore)

	col := &collector{}
	start := time.Now()
	col.measureFrom = start.Add(cfg.warmup)
	var deadline time.Time
	if cfg.duration > 0 {
		deadline = col.measureFrom.Add(cfg.duration)
	}
	var (
		tickets atomic.Int64 // logins handed out, for -n
		rr      atomic.Uint64
		people  atomic.Int64 // the next synthetic follower
		wg      sync.WaitGroup
	)
	who := func(i, k int) string {
		if len(cfg.users) == 1 && cfg.users[0] == followers {
			return "follower-" + strconv.FormatInt(people.Add(1)%maxFollower+1, 10)
		}
		return cfg.users[(i+k*cfg.browsers)%len(cfg.users)]
	}
	next := func() *url.URL { return cfg.urls[int(rr.Add(1)-1)%len(cfg.urls)] }
	more := func() bool {
		if ctx.Err() != nil || (!deadline.IsZero() && !time.Now().Before(deadline)) {
			return false
		}
		// -n counts measured logins: warm-up logins are extra.
		if cfg.logins > 0 && time.Now().After(col.measureFrom) && tickets.Add(1) > int64(cfg.logins) {
			return false
		}
		return true
	}

	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		col.progress(stderr, cfg.progress, start, stopProgress)
	}()

	for i := range cfg.browsers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if cfg.ramp > 0 {
				t := time.NewTimer(cfg.ramp * time.Duration(i) / time.Duration(cfg.browsers))
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return
				}
			}
			rnd := rand.New(rand.NewPCG(uint64(i), uint64(start.UnixNano())))
			for k := 0; more(); k++ {
				p := plan{user: who(i, k), urls: next}
				if rnd.Float64() < cfg.dup {
					p.dup, p.variant = true, cfg.variant
					if p.variant == "mix" {
						p.variant = []string{"A", "B"}[rnd.IntN(2)]
					}
				}
				var s sample
				if cfg.mode == "mini" {
					s = newBrowser(cfg, tr, dialer).miniLogin(ctx, p)
				} else {
					s = newBrowser(cfg, tr, dialer).login(ctx, p)
				}
				col.add(s)
				if !s.OK {
					// A person whose login failed does not retry within
					// microseconds; nor should a browser spin on a server
					// that refuses connections.
					pause(ctx, failurePause)
				}
			}
		}()
	}
	wg.Wait()
	end := time.Now()
	close(stopProgress)
	<-progressDone

	// Give owners of aborted requests that are still finishing a moment to
	// record their exchange, then read the counters.
	cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	simAfter, err := ctl.simStats(cctx)
	if err != nil {
		return nil, fmt.Errorf("reading the simulator's counters at the end: %w", err)
	}
	metAfter := ctl.scrapeAll(cctx)
	var ruAfter syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ruAfter)

	res := col.result(cfg, start, end)
	if cfg.mode == "mini" {
		// A mini program code is exchanged with jscode2session.
		simBefore.Exchanges, simAfter.Exchanges = simBefore.ByEndpoint["jscode2session"], simAfter.ByEndpoint["jscode2session"]
	}
	res.Exchanges = exchangeReport(simBefore, simAfter, col.reachedCallback(), col.codesPresented())
	res.Server = serverReport(metBefore, metAfter)
	res.HTTP5xx.Server = res.Server.HTTP5xx
	res.LoadToolCPUSeconds = cpuSeconds(ruAfter) - cpuSeconds(ruBefore)
	return res, nil
}

// maxFollower is the simulator's largest follower number (7 digits).
const maxFollower = 9_999_999

// failurePause is how long a browser waits after a failed login.
const failurePause = 100 * time.Millisecond

func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func cpuSeconds(ru syscall.Rusage) float64 {
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// collector keeps every sample: a storm of a few minutes is well under a
// million logins, and exact percentiles beat approximate ones here.
type collector struct {
	measureFrom time.Time

	mu       sync.Mutex
	samples  []sample // measured logins
	warm     int      // logins during warm-up (not in samples)
	warmCode int      // of which reached the callback
	warmB    int      // of which sent variant B's second code (owes no exchange, may get one)
	ok, bad  int
}

func (c *collector) add(s sample) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.Start.Before(c.measureFrom) {
		c.warm++
		if s.ReachedCallback {
			c.warmCode++
			if s.Dup && s.Variant == "B" {
				c.warmB++
			}
		}
		if s.Restarted {
			c.warmCode++
		}
		return
	}
	c.samples = append(c.samples, s)
	if s.OK {
		c.ok++
	} else {
		c.bad++
	}
}

// reachedCallback counts every login, warm-up included, that WeChat gave a
// code: each owes exactly one exchange.
func (c *collector) reachedCallback() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.warmCode
	for _, s := range c.samples {
		if s.ReachedCallback {
			n++
		}
		if s.Restarted {
			n++ // the restart's second code owes its own exchange
		}
	}
	return n
}

// codesPresented counts the codes sent to wxlogin: each login's code, its
// restart's code, and variant B's second code, warm-up included (an app
// that verifies the second code with WeChat too exchanges it during the
// warm-up as well).
func (c *collector) codesPresented() int {
	c.mu.Lock()
	n := c.warmB
	for _, s := range c.samples {
		if s.ReachedCallback && s.Dup && s.Variant == "B" {
			n++
		}
	}
	c.mu.Unlock()
	return c.reachedCallback() + n
}

// progress prints one line per interval: logins/s now and overall, errors
// and the p99s so far.
func (c *collector) progress(w io.Writer, every time.Duration, start time.Time, stop <-chan struct{}) {
	if every <= 0 {
		<-stop
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	lastOK, lastAt := 0, start
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			c.mu.Lock()
			ok, bad, warm := c.ok, c.bad, c.warm
			var logins, callbacks []time.Duration
			for _, s := range c.samples {
				if s.OK {
					logins = append(logins, s.Total)
					callbacks = append(callbacks, s.Callback)
				}
			}
			c.mu.Unlock()
			phase := ""
			if now.Before(c.measureFrom) {
				phase = fmt.Sprintf(" (warming up: %d logins)", warm)
			}
			rate := float64(ok-lastOK) / now.Sub(lastAt).Seconds()
			lastOK, lastAt = ok, now
			fmt.Fprintf(w, "%6.1fs  %7d logins  %7.1f/s  errors %d  p99 login %s  p99 callback %s%s\n",
				now.Sub(start).Seconds(), ok, rate, bad, fmtMS(quantile(logins, 0.99)), fmtMS(quantile(callbacks, 0.99)), phase)
		}
	}
}

// quantile returns the q-quantile (nearest rank) of ds; ds is sorted in place.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	if !slices.IsSorted(ds) {
		slices.Sort(ds)
	}
	i := int(q*float64(len(ds)) + 0.999999)
	i = min(max(i, 1), len(ds))
	return ds[i-1]
}

func fmtMS(d time.Duration) string { return fmt.Sprintf("%.1fms", ms(d)) }

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
