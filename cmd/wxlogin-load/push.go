package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"wxlogin/msgcrypt"
)

// Push mode: `wxlogin-load push` plays WeChat pushing events and messages to
// /wechat/notify at a fixed rate, with a fraction of them retried — half of
// the retries at the same moment to another instance, half after the first
// answer — and then checks from the instances' own counters that every push
// was handled exactly once: the sum of result="ok" across instances equals
// the number of distinct pushes (none lost, none handled twice) and every
// delivery was answered `success`.

type pushConfig struct {
	urls        []*url.URL
	token       string
	aesKey      string
	appID       string
	rate        int
	duration    time.Duration
	retry       float64
	concurrent  float64
	inFlight    int
	timeout     time.Duration
	allowRemote bool
}

func parsePushFlags(args []string, stderr io.Writer) (*pushConfig, error) {
	fs := flag.NewFlagSet("wxlogin-load push", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		urls    = fs.String("url", "http://127.0.0.1:8080", "wxlogin base URL(s), comma-separated")
		token   = fs.String("token", os.Getenv("WECHAT_TOKEN"), "the instances' WECHAT_TOKEN (default: $WECHAT_TOKEN)")
		aesKey  = fs.String("aes-key", os.Getenv("WECHAT_AES_KEY"), "their WECHAT_AES_KEY; set: safe mode (default: $WECHAT_AES_KEY)")
		appID   = fs.String("appid", "wx5im0000000000001", "the appid sealed into safe-mode pushes (simulator mode: the simulator's)")
		rate    = fs.Int("rate", 2000, "distinct pushes per second")
		d       = fs.Duration("d", 30*time.Second, "how long to push")
		retry   = fs.Float64("retry", 0.3, "fraction of pushes delivered twice (WeChat's retry)")
		conc    = fs.Float64("concurrent", 0.5, "fraction of the retries sent at the same moment to another instance (the rest after the first answer)")
		flight  = fs.Int("c", 1000, "deliveries in flight at most")
		timeout = fs.Duration("timeout", 5*time.Second, "WeChat's wait for an answer")
		remote  = fs.Bool("allow-remote", false, "allow non-loopback URLs")
	)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c := &pushConfig{token: *token, aesKey: *aesKey, appID: *appID, rate: *rate, duration: *d, retry: *retry,
		concurrent: *conc, inFlight: *flight, timeout: *timeout, allowRemote: *remote}
	for _, raw := range strings.Split(*urls, ",") {
		if raw = strings.TrimSpace(raw); raw == "" {
			continue
		}
		u, err := baseURL(raw, c.allowRemote)
		if err != nil {
			return nil, fmt.Errorf("-url %q: %w", raw, err)
		}
		c.urls = append(c.urls, u)
	}
	switch {
	case len(c.urls) == 0:
		return nil, errors.New("-url: at least one")
	case c.token == "":
		return nil, errors.New("-token (or WECHAT_TOKEN) is required")
	case c.aesKey != "" && !msgcrypt.ValidKey(c.aesKey):
		return nil, errors.New("-aes-key: want 43 characters")
	case c.rate < 1 || c.rate > 100000 || c.duration <= 0 || c.duration > time.Hour:
		return nil, errors.New("-rate 1..100000 and -d up to 1h")
	case c.retry < 0 || c.retry > 1 || c.concurrent < 0 || c.concurrent > 1:
		return nil, errors.New("-retry and -concurrent: fractions 0..1")
	case c.inFlight < 1 || c.timeout <= 0:
		return nil, errors.New("-c and -timeout must be positive")
	}
	return c, nil
}

type pushStats struct {
	mu         sync.Mutex
	latencies  []time.Duration
	sent       atomic.Int64 // distinct pushes
	deliveries atomic.Int64
	success    atomic.Int64
	failed     atomic.Int64 // non-200, not `success`, or no answer
	late       atomic.Int64 // pushes started behind schedule (in-flight limit)
	retried    atomic.Int64 // WeChat-style retries after no delivery succeeded
	lost       atomic.Int64 // pushes never answered success in 4 attempts
}

func pushCmd(args []string, stdout, stderr io.Writer) int {
	c, err := parsePushFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "wxlogin-load push: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var ci *msgcrypt.Cipher
	if c.aesKey != "" {
		if ci, err = msgcrypt.New(c.aesKey, c.appID); err != nil {
			fmt.Fprintf(stderr, "wxlogin-load push: %v\n", err)
			return 2
		}
	}
	client := &http.Client{Timeout: c.timeout, Transport: &http.Transport{MaxIdleConnsPerHost: c.inFlight, MaxConnsPerHost: c.inFlight}}
	before, err := scrapeOK(ctx, client, c.urls)
	if err != nil {
		fmt.Fprintf(stderr, "wxlogin-load push: reading /metrics: %v\n", err)
		return 1
	}
	run := make([]byte, 4)
	_, _ = rand.Read(run)
	runID := hex.EncodeToString(run)
	st := &pushStats{}
	sem := make(chan struct{}, c.inFlight)
	var wg sync.WaitGroup
	start := time.Now()
	const tick = 10 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	n := 0
	for time.Since(start) < c.duration && ctx.Err() == nil {
		<-t.C
		due := int(math.Round(float64(c.rate) * time.Since(start).Seconds()))
		for ; n < due; n++ {
			select {
			case sem <- struct{}{}:
			default:
				st.late.Add(1)
				sem <- struct{}{}
			}
			wg.Add(1)
			go func(n int) {
				defer wg.Done()
				defer func() { <-sem }()
				onePush(ctx, client, c, ci, st, runID, n)
			}(n)
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	// A delivery this tool gave up on (timeout) may still be finishing on
	// the server: read the counters until they stop moving.
	after, err := scrapeOK(ctx, client, c.urls)
	for i := 0; i < 20 && err == nil; i++ {
		time.Sleep(500 * time.Millisecond)
		var again okCounts
		if again, err = scrapeOK(ctx, client, c.urls); err == nil && again == after {
			break
		}
		after = again
	}
	if err != nil {
		fmt.Fprintf(stderr, "wxlogin-load push: reading /metrics: %v\n", err)
		return 1
	}
	handled := after.ok - before.ok
	dups := after.dup - before.dup
	slices.Sort(st.latencies)
	fmt.Fprintf(stdout, "pushes %d in %s (%.0f/s), deliveries %d, answered success %d, failed %d, started late %d\n",
		st.sent.Load(), elapsed.Round(time.Millisecond), float64(st.sent.Load())/elapsed.Seconds(), st.deliveries.Load(),
		st.success.Load(), st.failed.Load(), st.late.Load())
	fmt.Fprintf(stdout, "handled (result=ok, all instances) %d, duplicates absorbed %d, retries after failures %d, never answered success %d\n",
		handled, dups, st.retried.Load(), st.lost.Load())
	fmt.Fprintf(stdout, "answer time p50 %s  p90 %s  p99 %s  max %s\n", quantile(st.latencies, 0.5), quantile(st.latencies, 0.9),
		quantile(st.latencies, 0.99), quantile(st.latencies, 1))
	var problems []string
	if st.lost.Load() > 0 {
		problems = append(problems, fmt.Sprintf("%d pushes never answered success (WeChat gives up)", st.lost.Load()))
	}
	if handled != st.sent.Load() {
		problems = append(problems, fmt.Sprintf("%d pushes handled for %d sent", handled, st.sent.Load()))
	}
	if handled+dups < st.success.Load() {
		problems = append(problems, fmt.Sprintf("ok+duplicate %d for %d successful deliveries", handled+dups, st.success.Load()))
	}
	if len(problems) > 0 {
		fmt.Fprintf(stderr, "wxlogin-load push: correctness targets missed: %s\n", strings.Join(problems, "; "))
		return 1
	}
	fmt.Fprintln(stdout, "zero lost, zero handled twice")
	return 0
}

// onePush sends push n once, or twice (retried): concurrently to the next
// instance, or after the first answer to the next instance.
func onePush(ctx context.Context, client *http.Client, c *pushConfig, ci *msgcrypt.Cipher, st *pushStats, runID string, n int) {
	st.sent.Add(1)
	now := time.Now()
	var msg string
	if n%2 == 0 {
		msg = fmt.Sprintf("<xml><ToUserName><![CDATA[gh_load]]></ToUserName><FromUserName><![CDATA[oLoad%s%d]]></FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[load %d]]></Content><MsgId>%d%09d</MsgId></xml>",
			runID, n, now.Unix(), n, now.Unix(), n)
	} else {
		msg = fmt.Sprintf("<xml><ToUserName><![CDATA[gh_load]]></ToUserName><FromUserName><![CDATA[oLoad%s%d]]></FromUserName><CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[VIEW]]></Event><EventKey><![CDATA[https://load.invalid/%d]]></EventKey><MenuId>1</MenuId></xml>",
			runID, n, now.Unix(), n)
	}
	// Deterministic choices from n spread evenly: retried when the fraction
	// says so, and half of those concurrent.
	frac := func(x int, f float64) bool { return float64(x%1000) < f*1000 }
	retried := frac(n*7919, c.retry)
	concurrent := retried && frac(n*104729, c.concurrent)
	first := c.urls[n%len(c.urls)]
	other := c.urls[(n+1)%len(c.urls)]
	var okFirst, okOther bool
	if concurrent {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); okFirst = deliverPush(ctx, client, c, ci, st, first, msg) }()
		go func() { defer wg.Done(); okOther = deliverPush(ctx, client, c, ci, st, other, msg) }()
		wg.Wait()
	} else {
		okFirst = deliverPush(ctx, client, c, ci, st, first, msg)
		if retried {
			okOther = deliverPush(ctx, client, c, ci, st, other, msg)
		}
	}
	// WeChat's own retries: a push none of whose deliveries was answered
	// `success` is sent again, up to 3 times, alternating instances.
	for i := 0; i < 3 && !okFirst && !okOther; i++ {
		st.retried.Add(1)
		okFirst = deliverPush(ctx, client, c, ci, st, c.urls[(n+i)%len(c.urls)], msg)
	}
	if !okFirst && !okOther {
		st.lost.Add(1)
	}
}

func deliverPush(ctx context.Context, client *http.Client, c *pushConfig, ci *msgcrypt.Cipher, st *pushStats, base *url.URL, msg string) bool {
	st.deliveries.Add(1)
	nb := make([]byte, 8)
	_, _ = rand.Read(nb)
	nonce := hex.EncodeToString(nb)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	q := url.Values{"signature": {msgcrypt.Signature(c.token, ts, nonce)}, "timestamp": {ts}, "nonce": {nonce}}
	body := msg
	if ci != nil {
		enc, err := ci.Encrypt([]byte(msg))
		if err != nil {
			st.failed.Add(1)
			return false
		}
		q.Set("encrypt_type", "aes")
		q.Set("msg_signature", msgcrypt.Signature(c.token, ts, nonce, enc))
		body = "<xml><ToUserName><![CDATA[gh_load]]></ToUserName><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base.String()+"/wechat/notify?"+q.Encode(), strings.NewReader(body))
	if err != nil {
		st.failed.Add(1)
		return false
	}
	req.Header.Set("Content-Type", "text/xml")
	t0 := time.Now()
	res, err := client.Do(req)
	if err != nil {
		st.failed.Add(1)
		return false
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 64))
	res.Body.Close()
	d := time.Since(t0)
	st.mu.Lock()
	st.latencies = append(st.latencies, d)
	st.mu.Unlock()
	if res.StatusCode == http.StatusOK && strings.TrimSpace(string(b)) == "success" {
		st.success.Add(1)
		return true
	}
	st.failed.Add(1)
	return false
}

type okCounts struct{ ok, dup int64 }

// scrapeOK sums wxlogin_pushes_total{result="ok"} and {result="duplicate"}
// over the instances' /metrics.
func scrapeOK(ctx context.Context, client *http.Client, urls []*url.URL) (okCounts, error) {
	var out okCounts
	for _, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String()+"/metrics", nil)
		if err != nil {
			return out, err
		}
		res, err := client.Do(req)
		if err != nil {
			return out, err
		}
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			if !strings.HasPrefix(line, "wxlogin_pushes_total{") {
				continue
			}
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			switch {
			case strings.Contains(line, `result="ok"`):
				out.ok += int64(v)
			case strings.Contains(line, `result="duplicate"`):
				out.dup += int64(v)
			}
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return out, fmt.Errorf("%s/metrics: %d (METRICS_ADDR set? point -url at the public listener without it)", u, res.StatusCode)
		}
	}
	return out, nil
}
