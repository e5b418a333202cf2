package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"
)

// Result is everything a storm measured; it is also the JSON file's shape,
// which `wxlogin-load report` reads back.
type Result struct {
	Settings        Settings  `json:"settings"`
	StartedAt       time.Time `json:"started_at"`
	MeasuredSeconds float64   `json:"measured_seconds"`

	Logins struct {
		OK             int            `json:"ok"`
		Failed         int            `json:"failed"`
		PerSecond      float64        `json:"per_second"`
		FailedByReason map[string]int `json:"failed_by_reason"`
		Duplicated     int            `json:"duplicated"`
		// FirstNeverOwned: double callbacks whose aborted first request
		// ended before it reached the exchange (the duplicate owned it).
		FirstNeverOwned int `json:"first_never_owned"`
		// Restarted: logins that WeChat's rejection of the first code sent
		// through one silent restart (counted in OK when that succeeded).
		Restarted int `json:"restarted"`
		Warmup    int `json:"warmup_logins"`
	} `json:"logins"`

	// LoginMS: entry to profile page of successful logins.
	LoginMS Dist `json:"login_ms"`
	// CallbackMS: first callback sent to the answer the browser follows
	// (for a double callback: the aborted first sent to the duplicate's answer).
	CallbackMS       Dist `json:"callback_ms"`
	CallbackSingleMS Dist `json:"callback_single_ms"`
	CallbackDoubleMS Dist `json:"callback_double_ms"`

	// FloorMS is the simulator's latency times the WeChat calls one login
	// needs (1 for snsapi_base, 2 for snsapi_userinfo): no login can be faster.
	FloorMS             float64 `json:"floor_ms"`
	WeChatCallsPerLogin int     `json:"wechat_calls_per_login"`
	CallbackOverFloor   struct {
		P50MS    float64 `json:"p50_ms"`
		P95MS    float64 `json:"p95_ms"`
		P99MS    float64 `json:"p99_ms"`
		P50Ratio float64 `json:"p50_ratio"`
		P99Ratio float64 `json:"p99_ratio"`
	} `json:"callback_over_floor"`

	// DuplicateAfterOwner: the duplicate's answer minus the moment the
	// server ended the aborted first request (see abort.go).
	DuplicateAfterOwner struct {
		All           Dist `json:"all"`
		SameInstance  Dist `json:"same_instance"`
		CrossInstance Dist `json:"cross_instance"`
	} `json:"duplicate_after_owner_ms"`

	Exchanges ExchangeReport `json:"exchanges"`
	HTTP5xx   struct {
		Browser      int     `json:"browser"`
		AbortedFirst int     `json:"aborted_first"`
		Server       float64 `json:"server"`
	} `json:"http_5xx"`
	Server             ServerReport `json:"server"`
	LoadToolCPUSeconds float64      `json:"load_tool_cpu_seconds"`
}

// Settings echo the knobs of the run.
type Settings struct {
	URLs           []string `json:"urls"`
	Sim            string   `json:"sim"`
	Browsers       int      `json:"browsers"`
	Duration       string   `json:"duration"`
	Logins         int      `json:"logins"`
	Warmup         string   `json:"warmup"`
	LatencyMS      float64  `json:"latency_ms"` // -1: left as the simulator had it
	DupFraction    float64  `json:"dup_fraction"`
	Variant        string   `json:"variant"`
	AbortAfterMS   float64  `json:"abort_after_ms"`
	Scope          string   `json:"scope"`
	Ramp           string   `json:"ramp"`
	Users          []string `json:"users"`
	RequestTimeout string   `json:"request_timeout"`
	Mode           string   `json:"mode,omitempty"` // "mini" for the mini program's login
}

// Dist summarises durations in milliseconds.
type Dist struct {
	N    int     `json:"n"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

func dist(ds []time.Duration) Dist {
	if len(ds) == 0 {
		return Dist{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Dist{
		N: len(ds), Mean: round(ms(sum / time.Duration(len(ds)))),
		P50: round(ms(quantile(ds, 0.50))), P95: round(ms(quantile(ds, 0.95))),
		P99: round(ms(quantile(ds, 0.99))), Max: round(ms(ds[len(ds)-1])),
	}
}

func round(f float64) float64 { return float64(int64(f*100+0.5*sign(f))) / 100 }

func sign(f float64) float64 {
	if f < 0 {
		return -1
	}
	return 1
}

// ExchangeReport checks the exactly-once promise with the simulator's own
// counters: no code may be exchanged twice, every login that got a code
// owes at least one exchange, and no more exchanges than codes presented
// to wxlogin (variant B's second code is verified by WeChat on its own,
// so it owes its own exchange; its first code owes none when the browser
// aborted it before it reached the gate).
type ExchangeReport struct {
	LoginsWithCode             int     `json:"logins_with_code"`
	CodesPresented             int     `json:"codes_presented"`
	CodesIssued                int     `json:"codes_issued"`
	Exchanges                  int     `json:"exchanges"`
	CodesExchangedMoreThanOnce int     `json:"codes_exchanged_more_than_once"`
	PerLogin                   float64 `json:"per_login"`
	PerCode                    float64 `json:"per_code"`
	ExactlyOnce                bool    `json:"exactly_once"`
}

func exchangeReport(before, after simStats, loginsWithCode, codesPresented int) ExchangeReport {
	r := ExchangeReport{
		LoginsWithCode:             loginsWithCode,
		CodesPresented:             codesPresented,
		CodesIssued:                after.CodesIssued - before.CodesIssued,
		Exchanges:                  after.Exchanges - before.Exchanges,
		CodesExchangedMoreThanOnce: after.CodesExchangedMoreThanOnce - before.CodesExchangedMoreThanOnce,
	}
	if loginsWithCode > 0 {
		r.PerLogin = float64(r.Exchanges) / float64(loginsWithCode)
	}
	if codesPresented > 0 {
		r.PerCode = float64(r.Exchanges) / float64(codesPresented)
	}
	r.ExactlyOnce = r.CodesExchangedMoreThanOnce == 0 && r.Exchanges >= loginsWithCode && r.Exchanges <= codesPresented
	return r
}

// ServerReport is what wxlogin's /metrics counted during the run, summed
// over the instances (deltas).
type ServerReport struct {
	Instances        int                `json:"instances_scraped"`
	HTTP5xx          float64            `json:"http_5xx"`
	PoolWaits        float64            `json:"db_pool_waits"`
	PoolWaitSeconds  float64            `json:"db_pool_wait_seconds"`
	PoolMaxOpen      float64            `json:"db_pool_max_open"`
	LoginOutcomes    map[string]float64 `json:"login_outcomes"`
	ExchangeEvents   map[string]float64 `json:"exchange_events"`
	DuplicateWaitsMS map[string]float64 `json:"duplicate_wait_mean_ms"`
	WeChatCalls      float64            `json:"wechat_calls"`
	LoginRestarts    float64            `json:"login_restarts"`
}

func serverReport(before, after serverCounters) ServerReport {
	delta := func(a, b map[string]float64) map[string]float64 {
		out := map[string]float64{}
		for k, v := range a {
			if d := v - b[k]; d != 0 {
				out[k] = d
			}
		}
		return out
	}
	r := ServerReport{
		Instances:       after.Scraped,
		HTTP5xx:         after.HTTP5xx - before.HTTP5xx,
		PoolWaits:       after.PoolWaits - before.PoolWaits,
		PoolWaitSeconds: round(after.PoolWaitSecs - before.PoolWaitSecs),
		PoolMaxOpen:     after.PoolMaxOpen,
		LoginOutcomes:   delta(after.Logins, before.Logins),
		ExchangeEvents:  delta(after.Events, before.Events),
		WeChatCalls:     after.WeChatCalls - before.WeChatCalls,
		LoginRestarts:   after.LoginRestarts - before.LoginRestarts,
	}
	cnt, sum := delta(after.DupWaitCount, before.DupWaitCount), delta(after.DupWaitSum, before.DupWaitSum)
	r.DuplicateWaitsMS = map[string]float64{}
	for k, n := range cnt {
		if n > 0 {
			r.DuplicateWaitsMS[k] = round(sum[k] / n * 1000)
		}
	}
	return r
}

// result summarises the samples.
func (c *collector) result(cfg *config, start, end time.Time) *Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := &Result{StartedAt: start.UTC()}
	r.Settings = Settings{
		Sim: cfg.sim.String(), Browsers: cfg.browsers, Duration: cfg.duration.String(), Logins: cfg.logins,
		Warmup: cfg.warmup.String(), LatencyMS: ms(cfg.latency), DupFraction: cfg.dup, Variant: cfg.variant,
		AbortAfterMS: ms(cfg.abortAfter), Scope: cfg.scope, Ramp: cfg.ramp.String(), Users: cfg.users,
		RequestTimeout: cfg.timeout.String(),
	}
	if cfg.mode == "mini" {
		r.Settings.Mode = "mini"
	}
	if cfg.latency < 0 {
		r.Settings.LatencyMS = -1
	}
	for _, u := range cfg.urls {
		r.Settings.URLs = append(r.Settings.URLs, u.String())
	}
	windowEnd := end
	if cfg.duration > 0 {
		windowEnd = c.measureFrom.Add(cfg.duration)
	}
	r.MeasuredSeconds = round(windowEnd.Sub(c.measureFrom).Seconds())

	var logins, cbs, single, double, after, afterSame, afterCross []time.Duration
	r.Logins.FailedByReason = map[string]int{}
	userinfo, base := 0, 0
	for _, s := range c.samples {
		r.HTTP5xx.Browser += s.Browser5xx
		r.HTTP5xx.AbortedFirst += s.Aborted5xx
		switch s.Scope {
		case "snsapi_userinfo":
			userinfo++
		case "snsapi_base":
			base++
		}
		if s.Dup {
			r.Logins.Duplicated++
		}
		if s.FirstNeverOwned {
			r.Logins.FirstNeverOwned++
		}
		if s.Restarted {
			r.Logins.Restarted++
		}
		if !s.OK {
			r.Logins.Failed++
			r.Logins.FailedByReason[s.Reason]++
			continue
		}
		r.Logins.OK++
		logins = append(logins, s.Total)
		cbs = append(cbs, s.Callback)
		if s.Dup {
			double = append(double, s.Callback)
		} else {
			single = append(single, s.Callback)
		}
		if s.HaveAfter {
			after = append(after, s.AfterOwner)
			if s.Cross {
				afterCross = append(afterCross, s.AfterOwner)
			} else {
				afterSame = append(afterSame, s.AfterOwner)
			}
		}
	}
	r.Logins.Warmup = c.warm
	if r.MeasuredSeconds > 0 {
		r.Logins.PerSecond = round(float64(r.Logins.OK) / r.MeasuredSeconds)
	}
	r.LoginMS, r.CallbackMS = dist(logins), dist(cbs)
	r.CallbackSingleMS, r.CallbackDoubleMS = dist(single), dist(double)
	r.DuplicateAfterOwner.All = dist(after)
	r.DuplicateAfterOwner.SameInstance = dist(afterSame)
	r.DuplicateAfterOwner.CrossInstance = dist(afterCross)

	r.WeChatCallsPerLogin = 1
	if userinfo >= base && cfg.mode != "mini" {
		r.WeChatCallsPerLogin = 2
	}
	if cfg.latency >= 0 {
		r.FloorMS = ms(cfg.latency) * float64(r.WeChatCallsPerLogin)
		o := &r.CallbackOverFloor
		o.P50MS, o.P95MS, o.P99MS = round(r.CallbackMS.P50-r.FloorMS), round(r.CallbackMS.P95-r.FloorMS), round(r.CallbackMS.P99-r.FloorMS)
		if r.FloorMS > 0 {
			o.P50Ratio, o.P99Ratio = round(r.CallbackMS.P50/r.FloorMS), round(r.CallbackMS.P99/r.FloorMS)
		}
	}
	return r
}

// Problems lists the correctness targets this run missed: every login
// succeeds, nothing answers 5xx, every code is exchanged exactly once.
func (r *Result) Problems() []string {
	var p []string
	if r.Logins.Failed > 0 {
		p = append(p, fmt.Sprintf("%d failed logins", r.Logins.Failed))
	}
	if r.Logins.OK == 0 {
		p = append(p, "no successful login")
	}
	if n := r.HTTP5xx.Browser; n > 0 {
		p = append(p, fmt.Sprintf("%d 5xx answers seen by browsers", n))
	}
	if r.HTTP5xx.Server > 0 {
		p = append(p, fmt.Sprintf("%.0f 5xx answers in wxlogin's metrics", r.HTTP5xx.Server))
	}
	if !r.Exchanges.ExactlyOnce {
		p = append(p, fmt.Sprintf("%d exchanges for %d logins with a code, %d codes exchanged more than once",
			r.Exchanges.Exchanges, r.Exchanges.LoginsWithCode, r.Exchanges.CodesExchangedMoreThanOnce))
	}
	return p
}

func writeJSON(path string, r *Result) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// printTable writes the human summary.
func printTable(w io.Writer, r *Result) {
	s := r.Settings
	scope := s.Scope
	if scope == "" {
		scope = "server default"
	}
	fmt.Fprintf(w, "\nwxlogin-load: %.1fs measured, %d browsers, %.0f%% double callbacks (variant %s), scope %s, simulator latency %s, %d URL(s)\n\n",
		r.MeasuredSeconds, s.Browsers, s.DupFraction*100, s.Variant, scope, latencyText(s.LatencyMS), len(s.URLs))
	fmt.Fprintf(w, "%-28s %d ok, %d failed (%d double callbacks; %d silently restarted; %d warm-up logins not counted)\n", "logins", r.Logins.OK, r.Logins.Failed, r.Logins.Duplicated, r.Logins.Restarted, r.Logins.Warmup)
	fmt.Fprintf(w, "%-28s %.1f\n", "logins/s", r.Logins.PerSecond)
	fmt.Fprintf(w, "\n%-28s %9s %9s %9s %9s %9s\n", "milliseconds", "p50", "p95", "p99", "max", "n")
	row := func(name string, d Dist) {
		fmt.Fprintf(w, "%-28s %9.1f %9.1f %9.1f %9.1f %9d\n", name, d.P50, d.P95, d.P99, d.Max, d.N)
	}
	row("login (entry..profile)", r.LoginMS)
	row("callback", r.CallbackMS)
	row("  single callback", r.CallbackSingleMS)
	row("  double callback", r.CallbackDoubleMS)
	row("duplicate after owner", r.DuplicateAfterOwner.All)
	if n := r.Logins.FirstNeverOwned; n > 0 {
		fmt.Fprintf(w, "  (%d aborted first requests ended before reaching the exchange: no owner to follow)\n", n)
	}
	row("  same instance", r.DuplicateAfterOwner.SameInstance)
	row("  other instance", r.DuplicateAfterOwner.CrossInstance)
	if r.FloorMS > 0 {
		o := r.CallbackOverFloor
		fmt.Fprintf(w, "\n%-28s %.1f ms (%s × %d WeChat calls per login)\n", "floor", r.FloorMS, latencyText(s.LatencyMS), r.WeChatCallsPerLogin)
		fmt.Fprintf(w, "%-28s p50 +%.1f ms (×%.2f)  p95 +%.1f ms  p99 +%.1f ms (×%.2f)\n", "callback over floor", o.P50MS, o.P50Ratio, o.P95MS, o.P99MS, o.P99Ratio)
	}
	e := r.Exchanges
	fmt.Fprintf(w, "\n%-28s %d exchanges for %d codes presented by %d logins (%.3f per code, %.3f per login); %d codes issued; %d codes exchanged more than once => %s\n",
		"WeChat code exchanges", e.Exchanges, e.CodesPresented, e.LoginsWithCode, e.PerCode, e.PerLogin, e.CodesIssued, e.CodesExchangedMoreThanOnce, okText(e.ExactlyOnce, "exactly once", "NOT exactly once"))
	fmt.Fprintf(w, "%-28s %d seen by browsers, %d answered to aborted first requests, %.0f in wxlogin's metrics\n", "HTTP 5xx", r.HTTP5xx.Browser, r.HTTP5xx.AbortedFirst, r.HTTP5xx.Server)
	fmt.Fprintf(w, "%-28s %.0f waits, %.3f s waited in all (pool size %.0f over %d instance(s))\n", "database pool", r.Server.PoolWaits, r.Server.PoolWaitSeconds, r.Server.PoolMaxOpen, r.Server.Instances)
	if len(r.Server.LoginOutcomes) > 0 {
		fmt.Fprintf(w, "%-28s %s\n", "server login outcomes", kv(r.Server.LoginOutcomes))
	}
	if len(r.Server.ExchangeEvents) > 0 {
		fmt.Fprintf(w, "%-28s %s\n", "server gate events", kv(r.Server.ExchangeEvents))
	}
	if len(r.Logins.FailedByReason) > 0 {
		fmt.Fprintf(w, "\nfailed logins by reason:\n")
		for _, k := range slices.Sorted(maps.Keys(r.Logins.FailedByReason)) {
			fmt.Fprintf(w, "  %6d  %s\n", r.Logins.FailedByReason[k], k)
		}
	}
	fmt.Fprintf(w, "\n%-28s %.1f s\n", "load tool CPU", r.LoadToolCPUSeconds)
}

func latencyText(msv float64) string {
	if msv < 0 {
		return "unchanged"
	}
	return fmt.Sprintf("%gms", msv)
}

func okText(ok bool, yes, no string) string {
	if ok {
		return yes
	}
	return no
}

func kv(m map[string]float64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%.0f", k, m[k]))
	}
	return strings.Join(parts, " ")
}
