// Command wxlogin-load simulates a login storm: an Official Account pushes a
// message and thousands of followers tap the menu at once. It drives virtual
// browsers (each a fresh phone: its own cookie jar, Android WeChat's
// User-Agent) through complete logins against one or more wxlogin instances
// and reports throughput, latency over the floor the WeChat simulator sets,
// and whether every code was exchanged exactly once.
//
//	wxlogin-load [flags]           run a storm (see -h)
//	wxlogin-load report [flags]    turn result JSON files into docs/BENCHMARKS.md
//	wxlogin-load push [flags]      push events to /wechat/notify as WeChat does (push.go)
//
// One login is: GET /wechat/entry, the simulator's headless authorize (X-Sim-User,
// X-Sim-Action: allow), GET /wechat/callback, GET /profile. With -dup, a
// fraction of logins get Android's double callback: the first callback is
// sent and aborted -abort-after later, like the in-app browser does, and the
// second (the same URL for variant A, a second code for the same state for
// variant B) is sent at once. Requests go round-robin over -url, so with two
// instances a duplicate often lands on the other instance.
//
// It only talks to loopback addresses unless -allow-remote is given, and it
// always stops by itself after -d or -n.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// The load tool shares the CPUs with what it measures: collecting
		// its short-lived garbage less often leaves more of them to wxlogin.
		debug.SetGCPercent(400)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses: 0 the storm ran and every login succeeded exactly once;
// 1 a correctness target was missed (failed logins, 5xx, a code exchanged
// more or less than once) or the run could not start; 2 usage.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "report" {
		return reportCmd(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "push" {
		return pushCmd(args[1:], stdout, stderr)
	}
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "wxlogin-load: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := storm(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wxlogin-load: %v\n", err)
		return 1
	}
	printTable(stdout, res)
	if cfg.jsonPath != "" {
		if err := writeJSON(cfg.jsonPath, res); err != nil {
			fmt.Fprintf(stderr, "wxlogin-load: writing %s: %v\n", cfg.jsonPath, err)
			return 1
		}
	}
	if problems := res.Problems(); len(problems) > 0 {
		fmt.Fprintf(stderr, "wxlogin-load: correctness targets missed: %s\n", strings.Join(problems, "; "))
		return 1
	}
	return 0
}

// config is the parsed command line.
type config struct {
	urls        []*url.URL
	sim         *url.URL
	browsers    int
	duration    time.Duration // 0: until -n logins
	logins      int           // 0: until -d
	warmup      time.Duration
	latency     time.Duration // <0: leave the simulator's latency alone
	dup         float64
	variant     string // A, B or mix
	abortAfter  time.Duration
	scope       string // "" = the server's WECHAT_SCOPE
	ramp        time.Duration
	jsonPath    string
	users       []string
	timeout     time.Duration
	allowRemote bool
	progress    time.Duration
	mode        string // web or mini
}

// followers selects the simulator's synthetic followers: each login is a
// different person ("follower-N"), as in a real storm.
const followers = "followers"

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("wxlogin-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		urls    = fs.String("url", "http://127.0.0.1:8080", "wxlogin base URL(s), comma-separated; requests go round-robin")
		sim     = fs.String("sim", "", "WeChat simulator base URL (default: <first -url>/_sim, the built-in simulator)")
		c       = fs.Int("c", 200, "concurrent virtual browsers")
		d       = fs.Duration("d", 30*time.Second, "how long to run (0: until -n logins)")
		n       = fs.Int("n", 0, "stop after this many logins (0: until -d)")
		warmup  = fs.Duration("warmup", 0, "run this long first without recording latencies (counters still cover it)")
		latency = fs.Duration("latency", 50*time.Millisecond, "simulator latency per WeChat call, set through its control endpoint (negative: leave as is)")
		dup     = fs.Float64("dup", 0.3, "fraction of logins with an Android double callback, 0..1")
		variant = fs.String("variant", "mix", "double callback variant: A (same code twice), B (second code, same state) or mix")
		abort   = fs.Duration("abort-after", 20*time.Millisecond, "abort the first of a double callback this long after sending it")
		scope   = fs.String("scope", "", "snsapi_base or snsapi_userinfo (default: the server's WECHAT_SCOPE)")
		ramp    = fs.Duration("ramp", 0, "start the browsers evenly over this long")
		jsonOut = fs.String("json", "", "write the results as JSON to this file")
		users   = fs.String("users", followers, "who logs in: \"followers\" (a different synthetic follower-N per login) or simulator test users, comma-separated, used in turn (e.g. zhangsan,emoji)")
		timeout = fs.Duration("timeout", 30*time.Second, "timeout of each HTTP request")
		remote  = fs.Bool("allow-remote", false, "allow non-loopback URLs (never point a storm at a server you do not own)")
		prog    = fs.Duration("progress", time.Second, "interval of the progress line on stderr (0: none)")
		mode    = fs.String("mode", "web", "web (the Official Account's login in the browser) or mini (the mini program's: wx.login, POST /api/miniprogram/login; -dup sends a code twice, to two -url)")
	)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: wxlogin-load [flags]\n       wxlogin-load report -h\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	cfg := &config{
		browsers: *c, duration: *d, logins: *n, warmup: *warmup, latency: *latency, dup: *dup,
		variant: strings.ToUpper(*variant), abortAfter: *abort, scope: *scope, ramp: *ramp, jsonPath: *jsonOut,
		timeout: *timeout, allowRemote: *remote, progress: *prog, mode: *mode,
	}
	if cfg.variant == "MIX" {
		cfg.variant = "mix"
	}
	// -n alone means "exactly n logins"; -d keeps its default only without -n.
	dSet := false
	fs.Visit(func(f *flag.Flag) { dSet = dSet || f.Name == "d" })
	if cfg.logins > 0 && !dSet {
		cfg.duration = 0
	}
	for _, raw := range strings.Split(*urls, ",") {
		if raw = strings.TrimSpace(raw); raw == "" {
			continue
		}
		u, err := baseURL(raw, cfg.allowRemote)
		if err != nil {
			return nil, fmt.Errorf("-url %q: %w", raw, err)
		}
		cfg.urls = append(cfg.urls, u)
	}
	if len(cfg.urls) == 0 {
		return nil, errors.New("-url: at least one wxlogin URL is needed")
	}
	simRaw := *sim
	if simRaw == "" {
		simRaw = cfg.urls[0].String() + "/_sim"
	}
	su, err := baseURL(simRaw, cfg.allowRemote)
	if err != nil {
		return nil, fmt.Errorf("-sim %q: %w", simRaw, err)
	}
	cfg.sim = su
	for _, u := range strings.Split(*users, ",") {
		if u = strings.TrimSpace(u); u != "" {
			cfg.users = append(cfg.users, u)
		}
	}
	switch {
	case cfg.browsers < 1 || cfg.browsers > 10000:
		return nil, errors.New("-c: want 1..10000 browsers")
	case cfg.duration < 0 || cfg.logins < 0 || cfg.warmup < 0 || cfg.ramp < 0:
		return nil, errors.New("-d, -n, -warmup and -ramp must not be negative")
	case cfg.duration == 0 && cfg.logins == 0:
		return nil, errors.New("give -d or -n: the storm must end by itself")
	case cfg.dup < 0 || cfg.dup > 1:
		return nil, errors.New("-dup: want a fraction from 0 to 1")
	case cfg.variant != "A" && cfg.variant != "B" && cfg.variant != "mix":
		return nil, errors.New("-variant: want A, B or mix")
	case cfg.abortAfter < 0 || cfg.abortAfter > 10*time.Second:
		return nil, errors.New("-abort-after: want 0..10s")
	case cfg.scope != "" && cfg.scope != "snsapi_base" && cfg.scope != "snsapi_userinfo":
		return nil, errors.New("-scope: want snsapi_base or snsapi_userinfo")
	case cfg.latency > time.Minute:
		return nil, errors.New("-latency: at most 1m (the simulator's limit)")
	case len(cfg.users) == 0:
		return nil, errors.New("-users: at least one test user")
	case cfg.timeout <= 0:
		return nil, errors.New("-timeout must be positive")
	case cfg.mode != "web" && cfg.mode != "mini":
		return nil, errors.New("-mode: want web or mini")
	}
	return cfg, nil
}

// baseURL parses an http(s) base URL and, unless remote targets are
// allowed, insists that it names this machine.
func baseURL(raw string, allowRemote bool) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errors.New("want an absolute http(s) URL without query")
	}
	if !allowRemote && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("%s is not a loopback address; a load test only targets this machine unless -allow-remote is given", u.Hostname())
	}
	return u, nil
}

// isLoopback reports whether host is localhost or a loopback IP. Names other
// than localhost are refused rather than resolved: DNS could point anywhere.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
