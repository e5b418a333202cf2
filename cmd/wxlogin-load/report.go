package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
)

// notesMarker separates the generated part of BENCHMARKS.md from notes
// written by hand, which a new run keeps.
const notesMarker = "<!-- NOTES: everything below this line is kept by scripts/bench.sh; edit freely -->"

// The targets.
const (
	targetLoginsPerSec   = 1000.0
	targetCallbackP50    = 5.0  // ms over the floor
	targetCallbackP99    = 25.0 // ms over the floor
	targetDupSameP99     = 5.0  // ms after the owner, one instance
	targetDupCrossP99    = 50.0 // ms after the owner, two instances
	saturatedUtilisation = 0.9
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, "; ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// benchRun is one storm with what bench.sh measured around it.
type benchRun struct {
	Label string
	Res   Result
	CPU   *cpuUse
	Top   []profLine
}

// cpuUse is bench.sh's /proc accounting of one run (seconds of CPU).
type cpuUse struct {
	Wall        float64 `json:"wall_seconds"`
	Cores       int     `json:"cores"`
	WxLogin     float64 `json:"wxlogin"`
	Postgres    float64 `json:"postgres"`
	Simulator   float64 `json:"simulator"`
	MachineBusy float64 `json:"machine_busy"`
}

// profLine is one function of `go tool pprof -top`.
type profLine struct {
	Flat, Cum float64 // seconds
	FlatPct   float64
	Name      string
}

func reportCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wxlogin-load report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var meta, runs multiFlag
	fs.Var(&meta, "meta", "KEY=VALUE line of the machine table (repeatable, in order)")
	fs.Var(&runs, "run", "LABEL=RESULT.json[,CPU.json[,PPROF-TOP.txt]] (repeatable)")
	gobench := fs.String("gobench", "", "output of go test -bench to include")
	command := fs.String("command", "make bench", "the command that reproduces the run")
	keep := fs.String("keep", "", "existing BENCHMARKS.md whose notes section to keep")
	out := fs.String("o", "-", "output file (- for stdout)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: wxlogin-load report [flags]\n\nflags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if len(runs) == 0 {
		fmt.Fprintln(stderr, "wxlogin-load report: at least one -run is needed")
		return 2
	}
	var brs []benchRun
	for _, spec := range runs {
		br, err := loadRun(spec)
		if err != nil {
			fmt.Fprintf(stderr, "wxlogin-load report: %v\n", err)
			return 1
		}
		brs = append(brs, br)
	}
	var goOut string
	if *gobench != "" {
		b, err := os.ReadFile(*gobench)
		if err != nil {
			fmt.Fprintf(stderr, "wxlogin-load report: %v\n", err)
			return 1
		}
		goOut = string(b)
	}
	notes := defaultNotes
	if *keep != "" && *keep != "-" {
		if b, err := os.ReadFile(*keep); err == nil {
			if _, after, ok := strings.Cut(string(b), notesMarker); ok {
				notes = strings.TrimLeft(after, "\n")
			}
		}
	}
	var sb strings.Builder
	writeMarkdown(&sb, meta, *command, brs, goOut, notes)
	if *out == "-" {
		_, _ = io.WriteString(stdout, sb.String())
		return 0
	}
	if err := os.WriteFile(*out, []byte(sb.String()), 0o644); err != nil {
		fmt.Fprintf(stderr, "wxlogin-load report: %v\n", err)
		return 1
	}
	return 0
}

const defaultNotes = "## Notes\n\n(Findings written by hand go here.)\n"

func loadRun(spec string) (benchRun, error) {
	label, files, ok := strings.Cut(spec, "=")
	if !ok || label == "" {
		return benchRun{}, fmt.Errorf("-run %q: want LABEL=RESULT.json[,CPU.json[,TOP.txt]]", spec)
	}
	parts := strings.Split(files, ",")
	br := benchRun{Label: label}
	b, err := os.ReadFile(parts[0])
	if err != nil {
		return br, err
	}
	if err := json.Unmarshal(b, &br.Res); err != nil {
		return br, fmt.Errorf("%s: %w", parts[0], err)
	}
	if len(parts) > 1 && parts[1] != "" {
		if b, err := os.ReadFile(parts[1]); err == nil {
			var c cpuUse
			if json.Unmarshal(b, &c) == nil && c.Wall > 0 {
				br.CPU = &c
			}
		}
	}
	if len(parts) > 2 && parts[2] != "" {
		if f, err := os.Open(parts[2]); err == nil {
			br.Top = parseTop(f)
			f.Close()
		}
	}
	return br, nil
}

// parseTop reads `go tool pprof -top` output.
func parseTop(r io.Reader) []profLine {
	var out []profLine
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) < 6 || !strings.HasSuffix(f[1], "%") || !strings.HasSuffix(f[4], "%") {
			continue
		}
		flat, ok1 := seconds(f[0])
		cum, ok2 := seconds(f[3])
		pct, err := strconv.ParseFloat(strings.TrimSuffix(f[1], "%"), 64)
		if !ok1 || !ok2 || err != nil {
			continue
		}
		out = append(out, profLine{Flat: flat, Cum: cum, FlatPct: pct, Name: strings.Join(f[5:], " ")})
	}
	return out
}

func seconds(s string) (float64, bool) {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "ms"):
		mult, s = 0.001, strings.TrimSuffix(s, "ms")
	case strings.HasSuffix(s, "us"), strings.HasSuffix(s, "µs"):
		mult, s = 1e-6, strings.TrimSuffix(strings.TrimSuffix(s, "us"), "µs")
	case strings.HasSuffix(s, "s"):
		s = strings.TrimSuffix(s, "s")
	case strings.HasSuffix(s, "min"):
		mult, s = 60, strings.TrimSuffix(s, "min")
	}
	v, err := strconv.ParseFloat(s, 64)
	return v * mult, err == nil
}

// category names where a function's own CPU time goes.
func category(fn string) string {
	has := func(prefixes ...string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(fn, p) {
				return true
			}
		}
		return false
	}
	switch {
	case has("internal/runtime/syscall", "syscall.", "internal/poll.", "net.(*netFD)", "runtime.netpoll", "internal/syscall"):
		return "system calls (network reads and writes)"
	case has("github.com/jackc/", "database/sql", "gorm.io/"):
		return "database driver and ORM (pgx, database/sql, GORM)"
	case has("net/http", "github.com/gin-gonic/", "net/url", "net/textproto", "bufio.", "mime"):
		return "HTTP server and client (net/http, Gin)"
	case has("html/template", "text/template"):
		return "templates"
	case has("crypto/", "github.com/gorilla/securecookie", "wxlogin/tokencrypt"):
		return "crypto (cookies, hashes, token sealing)"
	case has("encoding/", "github.com/gorilla/sessions"):
		return "encoding (gob, JSON, hex, base64)"
	case has("log/slog", "log."):
		return "logging"
	case has("github.com/prometheus/"):
		return "metrics"
	case has("runtime.gc", "runtime.mallocgc", "runtime.scan", "runtime.(*mspan)", "runtime.(*mcache)", "runtime.(*mcentral)",
		"runtime.(*mheap)", "runtime.newobject", "runtime.makeslice", "runtime.growslice", "runtime.greyobject",
		"runtime.findObject", "runtime.(*gcWork)", "runtime.markBits", "runtime.heapBits", "runtime.(*spanSet)",
		"runtime.memclrNoHeapPointers", "runtime.nextFreeFast", "runtime.spanClass", "runtime.tryDeferToSpanScan",
		"runtime.wbBuf", "runtime.bulkBarrier", "runtime.typePointers", "internal/runtime/gc", "runtime.(*gcBits)",
		"runtime.makeSpanClass", "runtime.deductAssistCredit", "runtime.(*gcControllerState)", "runtime.writeHeapBits",
		"runtime.(*mspan).writeHeapBits", "runtime.sweepone", "runtime.(*sweepLocked)", "runtime.mallocgcSmall"):
		return "Go runtime: allocation and garbage collection"
	case has("runtime.", "internal/runtime/", "internal/sync", "sync."):
		return "Go runtime: scheduler, maps, locks, memmove"
	case has("wxlogin/"):
		return "wxlogin's own code"
	}
	return "other libraries (strings, strconv, regexp, ...)"
}

func writeMarkdown(w *strings.Builder, meta []string, command string, runs []benchRun, goOut, notes string) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	first := runs[0].Res.Settings
	p("# Benchmarks\n\n")
	p("Written by `make bench` (scripts/bench.sh, which runs `cmd/wxlogin-load`). Everything above the Notes\n")
	p("section is regenerated by the next run; the Notes section is kept.\n\n")
	p("The load tool, the WeChat simulator, Postgres and wxlogin all share this one machine, and other work\n")
	p("may run beside them: the CPU table below says how busy the machine was and with what. Latencies are\n")
	p("given in milliseconds and also as a ratio to the floor, which does not depend on the machine.\n\n")

	p("## Machine\n\n| | |\n|---|---|\n")
	for _, m := range meta {
		k, v, _ := strings.Cut(m, "=")
		p("| %s | %s |\n", k, mdEscape(v))
	}
	p("\n## Settings\n\n| | |\n|---|---|\n")
	p("| virtual browsers | per run, see Results (each login a fresh cookie jar, Android WeChat User-Agent) |\n")
	p("| simulator latency | %s per WeChat API call |\n", latencyText(first.LatencyMS))
	p("| double callbacks | %.0f%% of logins, variant %s, first request aborted %.0f ms after it was sent |\n", first.DupFraction*100, first.Variant, first.AbortAfterMS)
	scope := first.Scope
	if scope == "" {
		scope = "wxlogin's default (WECHAT_SCOPE=snsapi_userinfo)"
	}
	p("| scope | %s |\n", scope)
	p("| duration | %s warm-up, then %s measured, per run |\n", first.Warmup, first.Duration)
	if len(first.Users) == 1 && first.Users[0] == followers {
		p("| who logs in | a different synthetic follower per login (the simulator's `follower-N`), as in a real storm |\n")
	} else {
		p("| who logs in | the simulator's test users %s, in turn (their users rows are shared by many logins) |\n", strings.Join(first.Users, ", "))
	}
	p("| wxlogin | built binary, production-shaped: WECHAT_APPID/SECRET of the standalone simulator (cmd/wechat-sim), fixed SESSION_KEYS/TOKEN_KEY, a fresh database per run, default pool (DB_MAX_CONNS: 20 connections per instance; \"through PgBouncer\" runs: 40 server connections in transaction mode, no DATABASE_LISTEN_URL), default logging (JSON, info), Go's default GC |\n")
	p("| harness | a fresh simulator per run; simulator and load tool with GOGC=400 (they share the CPUs with wxlogin) |\n")

	p("\n## Results\n\n| | %s |\n|---|%s\n", labels(runs), strings.Repeat("---|", len(runs)))
	row := func(name string, f func(r *benchRun) string) {
		cells := make([]string, len(runs))
		for i := range runs {
			cells[i] = f(&runs[i])
		}
		p("| %s | %s |\n", name, strings.Join(cells, " | "))
	}
	row("wxlogin instances, virtual browsers", func(r *benchRun) string {
		return fmt.Sprintf("%d, %d", len(r.Res.Settings.URLs), r.Res.Settings.Browsers)
	})
	row("complete logins per second", func(r *benchRun) string { return fmt.Sprintf("**%.0f**", r.Res.Logins.PerSecond) })
	row("logins ok / failed", func(r *benchRun) string { return fmt.Sprintf("%d / %d", r.Res.Logins.OK, r.Res.Logins.Failed) })
	row("of which double callbacks", func(r *benchRun) string {
		return fmt.Sprintf("%d (%d first requests aborted before reaching the exchange)", r.Res.Logins.Duplicated, r.Res.Logins.FirstNeverOwned)
	})
	row("login p50 / p95 / p99", func(r *benchRun) string { return triple(r.Res.LoginMS) })
	row("callback p50 / p95 / p99", func(r *benchRun) string { return triple(r.Res.CallbackMS) })
	row("floor (latency × WeChat calls)", func(r *benchRun) string {
		return fmt.Sprintf("%.0f ms (%d calls)", r.Res.FloorMS, r.Res.WeChatCallsPerLogin)
	})
	row("callback over floor p50", func(r *benchRun) string {
		return fmt.Sprintf("+%.1f ms (×%.2f)", r.Res.CallbackOverFloor.P50MS, r.Res.CallbackOverFloor.P50Ratio)
	})
	row("callback over floor p99", func(r *benchRun) string {
		return fmt.Sprintf("+%.1f ms (×%.2f)", r.Res.CallbackOverFloor.P99MS, r.Res.CallbackOverFloor.P99Ratio)
	})
	row("duplicate after owner, same instance p50 / p99", func(r *benchRun) string { return pair(r.Res.DuplicateAfterOwner.SameInstance) })
	row("duplicate after owner, other instance p50 / p99", func(r *benchRun) string { return pair(r.Res.DuplicateAfterOwner.CrossInstance) })
	row("WeChat exchanges per code presented (codes exchanged twice)", func(r *benchRun) string {
		e := r.Res.Exchanges
		return fmt.Sprintf("%.3f (%d) — %d exchanges for %d codes of %d logins", e.PerCode, e.CodesExchangedMoreThanOnce, e.Exchanges, e.CodesPresented, e.LoginsWithCode)
	})
	row("HTTP 5xx: browsers / aborted first requests / wxlogin metrics", func(r *benchRun) string {
		return fmt.Sprintf("%d / %d / %.0f", r.Res.HTTP5xx.Browser, r.Res.HTTP5xx.AbortedFirst, r.Res.HTTP5xx.Server)
	})
	row("database pool waits (time waited)", func(r *benchRun) string {
		return fmt.Sprintf("%.0f (%.1f s)", r.Res.Server.PoolWaits, r.Res.Server.PoolWaitSeconds)
	})
	row("CPU per login: wxlogin / Postgres / simulator / load tool", func(r *benchRun) string {
		c := r.CPU
		if c == nil {
			return "—"
		}
		n := float64(allLogins(&r.Res))
		return fmt.Sprintf("%.2f / %.2f / %.2f / %.2f ms", c.WxLogin/n*1000, c.Postgres/n*1000, c.Simulator/n*1000, r.Res.LoadToolCPUSeconds/n*1000)
	})
	row("machine CPU busy (of which other processes)", func(r *benchRun) string {
		c := r.CPU
		if c == nil {
			return "—"
		}
		capacity := c.Wall * float64(c.Cores)
		others := c.MachineBusy - c.WxLogin - c.Postgres - c.Simulator - r.Res.LoadToolCPUSeconds
		return fmt.Sprintf("%.0f%% (%.0f%%)", c.MachineBusy/capacity*100, max(others, 0)/capacity*100)
	})

	p("\n## Targets\n\n")
	writeTargets(p, runs)

	p("\n## Where wxlogin's CPU goes\n\n")
	p("From a CPU profile taken over `PPROF_ADDR` (pprof on its own loopback listener) during the measured\n")
	p("part of each run (the first instance when there are two), grouped by where each function's own time goes.\n\n")
	for _, r := range runs {
		if len(r.Top) == 0 {
			p("%s: no profile.\n\n", r.Label)
			continue
		}
		writeProfile(p, r)
	}

	if goOut != "" {
		p("## Go micro-benchmarks\n\n")
		p("`go test -run '^$' -bench . -benchmem` on the packages with `*_bench_test.go` (real Postgres via testdb,\n")
		p("WeChat replaced by an in-process fake with no latency, so these are wxlogin's own costs per operation).\n\n```\n")
		for _, line := range strings.Split(goOut, "\n") {
			if strings.HasPrefix(line, "Benchmark") || strings.HasPrefix(line, "pkg:") || strings.HasPrefix(line, "cpu:") ||
				strings.HasPrefix(line, "ok") || strings.HasPrefix(line, "FAIL") || strings.HasPrefix(line, "---") {
				p("%s\n", line)
			}
		}
		p("```\n\n")
	}

	p("## Definitions\n\n")
	p("- **Login**: `GET /wechat/entry` → the simulator's authorize (headless: `X-Sim-User`, `X-Sim-Action: allow`) →\n")
	p("  `GET /wechat/callback` → `GET /profile` answering 200. A login fails if any step answers otherwise or the\n")
	p("  callback does not redirect to `/profile`.\n")
	p("- **Callback**: from sending the (first) callback request to the answer the browser follows; for a double\n")
	p("  callback, from sending the aborted first request to the duplicate's answer.\n")
	p("- **Floor**: the simulator's latency × the WeChat calls one login needs (1 for snsapi_base: the code exchange;\n")
	p("  2 for snsapi_userinfo: exchange + userinfo). No callback can be faster.\n")
	p("- **Duplicate after owner**: the aborted first request is aborted with a TCP half-close, which Go's server\n")
	p("  treats like a closed connection (the request context is cancelled) but which still lets the load tool\n")
	p("  see when the server finished that request — i.e. when the owner's exchange ended. The figure is the\n")
	p("  duplicate's answer minus that moment. First requests that never reached the exchange (the abort arrived\n")
	p("  while the request was still queued; the duplicate then owned the exchange) are counted, not measured.\n")
	p("- **Exchanges per login**: the simulator's count of `/sns/oauth2/access_token` calls during the run (warm-up\n")
	p("  included) divided by the logins that received a code; must be exactly 1.000 with no code exchanged twice\n")
	p("  (variant B's second code must never reach WeChat).\n")
	p("- **CPU per login**: CPU seconds each process used during the run (from /proc) divided by all logins of\n")
	p("  the run, warm-up included. With C ms of CPU per login in all, %d cores can carry at most %d000 / C logins/s.\n", coresOf(runs), coresOf(runs))

	p("\n## Reproduce\n\n```sh\n%s\n```\n\n", command)
	p("Settings of each run, as JSON: `wxlogin-load -json FILE`. A single storm by hand, against a running\n")
	p("wxlogin in simulator mode: `go run ./cmd/wxlogin-load -url http://127.0.0.1:8080 -c 200 -d 30s`.\n\n")
	p("%s\n\n%s", notesMarker, notes)
}

func coresOf(runs []benchRun) int {
	for _, r := range runs {
		if r.CPU != nil && r.CPU.Cores > 0 {
			return r.CPU.Cores
		}
	}
	return 2
}

func allLogins(r *Result) int { return max(r.Logins.OK+r.Logins.Failed+r.Logins.Warmup, 1) }

func labels(runs []benchRun) string {
	l := make([]string, len(runs))
	for i, r := range runs {
		l[i] = r.Label
	}
	return strings.Join(l, " | ")
}

func triple(d Dist) string { return fmt.Sprintf("%.1f / %.1f / %.1f ms", d.P50, d.P95, d.P99) }

func pair(d Dist) string {
	if d.N == 0 {
		return "— (none)"
	}
	return fmt.Sprintf("%.1f / %.1f ms (n=%d)", d.P50, d.P99, d.N)
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", "\\|") }

// writeTargets says per target whether it was met, by how much it was
// missed, and what limited the run.
func writeTargets(p func(string, ...any), runs []benchRun) {
	p("| target | result | |\n|---|---|---|\n")
	for _, r := range runs {
		probs := r.Res.Problems()
		verdict, detail := "met", fmt.Sprintf("%d logins, 0 failed, 0 5xx, %.3f exchanges per login", r.Res.Logins.OK, r.Res.Exchanges.PerLogin)
		if len(probs) > 0 {
			verdict, detail = "**missed**", strings.Join(probs, "; ")
		}
		p("| zero failed logins, zero 5xx, exactly one exchange per code (%s) | %s | %s |\n", r.Label, verdict, detail)
	}
	one := &runs[0]
	for i := range runs {
		if len(runs[i].Res.Settings.URLs) == 1 {
			one = &runs[i]
			break
		}
	}
	v := one.Res.Logins.PerSecond
	p("| ≥ %.0f complete logins/s on one instance (%s) | %s | %.0f logins/s%s |\n", targetLoginsPerSec, one.Label,
		metOrMissed(v >= targetLoginsPerSec), v, missedBy(targetLoginsPerSec-v, "logins/s", v < targetLoginsPerSec))
	for _, r := range runs {
		o := r.Res.CallbackOverFloor
		p("| callback p50 within %.0f ms of the floor (%s) | %s | +%.1f ms%s |\n", targetCallbackP50, r.Label,
			metOrMissed(o.P50MS <= targetCallbackP50), o.P50MS, missedBy(o.P50MS-targetCallbackP50, "ms", o.P50MS > targetCallbackP50))
		p("| callback p99 within %.0f ms of the floor (%s) | %s | +%.1f ms%s |\n", targetCallbackP99, r.Label,
			metOrMissed(o.P99MS <= targetCallbackP99), o.P99MS, missedBy(o.P99MS-targetCallbackP99, "ms", o.P99MS > targetCallbackP99))
		if same := r.Res.DuplicateAfterOwner.SameInstance; len(r.Res.Settings.URLs) == 1 {
			p("| duplicate within %.0f ms of its owner, p99, one instance (%s) | %s | %.1f ms (n=%d)%s |\n", targetDupSameP99, r.Label,
				metOrMissed(same.N > 0 && same.P99 <= targetDupSameP99), same.P99, same.N, missedBy(same.P99-targetDupSameP99, "ms", same.P99 > targetDupSameP99))
		}
		if cross := r.Res.DuplicateAfterOwner.CrossInstance; len(r.Res.Settings.URLs) > 1 {
			p("| duplicate within %.0f ms of its owner, p99, across instances (%s) | %s | %.1f ms (n=%d)%s |\n", targetDupCrossP99, r.Label,
				metOrMissed(cross.N > 0 && cross.P99 <= targetDupCrossP99), cross.P99, cross.N, missedBy(cross.P99-targetDupCrossP99, "ms", cross.P99 > targetDupCrossP99))
		}
	}
	p("\n**What limits the runs** (measured, per run):\n\n")
	for _, r := range runs {
		p("- %s: %s\n", r.Label, limits(&r))
	}
}

func metOrMissed(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

func missedBy(by float64, unit string, missed bool) string {
	if !missed {
		return ""
	}
	return fmt.Sprintf(" — missed by %.1f %s", by, unit)
}

// limits explains a run's ceiling from the CPU accounting and the profile.
func limits(r *benchRun) string {
	var parts []string
	if c := r.CPU; c != nil {
		capacity := c.Wall * float64(c.Cores)
		busy := c.MachineBusy / capacity
		n := float64(allLogins(&r.Res))
		total := (c.WxLogin + c.Postgres + c.Simulator + r.Res.LoadToolCPUSeconds) / n * 1000
		if busy >= saturatedUtilisation {
			parts = append(parts, fmt.Sprintf("the CPUs were saturated (%.0f%% busy)", busy*100))
		} else {
			parts = append(parts, fmt.Sprintf("the CPUs were %.0f%% busy", busy*100))
		}
		parts = append(parts, fmt.Sprintf("one login cost %.2f ms of CPU across wxlogin (%.0f%%), Postgres (%.0f%%), the simulator (%.0f%%) and the load tool (%.0f%%), so %d cores carry at most ~%.0f logins/s with nothing else running",
			total, c.WxLogin/n*1000/total*100, c.Postgres/n*1000/total*100, c.Simulator/n*1000/total*100,
			r.Res.LoadToolCPUSeconds/n*1000/total*100, c.Cores, float64(c.Cores)*1000/total))
	}
	if cats := categories(r.Top); len(cats) > 0 {
		var top []string
		for i, c := range cats {
			if i == 3 {
				break
			}
			top = append(top, fmt.Sprintf("%s %.0f%%", c.name, c.pct))
		}
		parts = append(parts, "wxlogin's own CPU went mostly to "+strings.Join(top, ", "))
	}
	if w := r.Res.Server.PoolWaits; w > 0 {
		parts = append(parts, fmt.Sprintf("requests waited %.0f times for a database connection (%.1f s in all)", w, r.Res.Server.PoolWaitSeconds))
	}
	if len(parts) == 0 {
		return "no CPU accounting or profile for this run."
	}
	return strings.Join(parts, "; ") + "."
}

type catShare struct {
	name string
	pct  float64
}

func categories(top []profLine) []catShare {
	sum := map[string]float64{}
	total := 0.0
	for _, l := range top {
		sum[category(l.Name)] += l.Flat
		total += l.Flat
	}
	if total == 0 {
		return nil
	}
	var out []catShare
	for k, v := range sum {
		out = append(out, catShare{k, v / total * 100})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pct > out[j].pct })
	return out
}

func writeProfile(p func(string, ...any), r benchRun) {
	p("**%s** — share of wxlogin's CPU samples:\n\n| where | share |\n|---|---|\n", r.Label)
	for _, c := range categories(r.Top) {
		p("| %s | %.1f%% |\n", c.name, c.pct)
	}
	byCum := append([]profLine(nil), r.Top...)
	sort.SliceStable(byCum, func(i, j int) bool { return byCum[i].Cum > byCum[j].Cum })
	p("\nwxlogin functions with the most cumulative time (top 15 of %s):\n\n```\n", r.Label)
	shown := 0
	for _, l := range byCum {
		if !strings.HasPrefix(l.Name, "wxlogin/") {
			continue
		}
		p("%8.2fs cum  %s\n", l.Cum, l.Name)
		if shown++; shown == 15 {
			break
		}
	}
	p("```\n\n")
}
