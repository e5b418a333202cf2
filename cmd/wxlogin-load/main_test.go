package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestFlagsRefuseWhatCouldHurt(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string // substring of the error; "" = accepted
	}{
		{"defaults", nil, ""},
		{"two loopback instances", []string{"-url", "http://127.0.0.1:1,http://[::1]:2", "-sim", "http://localhost:3"}, ""},
		{"remote wxlogin", []string{"-url", "http://example.com"}, "not a loopback address"},
		{"remote simulator", []string{"-sim", "http://10.0.0.1:9090"}, "not a loopback address"},
		{"remote when allowed", []string{"-url", "https://example.com", "-allow-remote"}, ""},
		{"a name that merely resolves to loopback", []string{"-url", "http://127.0.0.1.nip.io"}, "not a loopback address"},
		{"no end", []string{"-d", "0"}, "must end by itself"},
		{"-n alone ends it", []string{"-n", "10"}, ""},
		{"bad dup", []string{"-dup", "1.5"}, "-dup"},
		{"bad variant", []string{"-variant", "C"}, "-variant"},
		{"bad scope", []string{"-scope", "snsapi_login"}, "-scope"},
		{"url with query", []string{"-url", "http://127.0.0.1:1/?x=1"}, "without query"},
		{"too many browsers", []string{"-c", "1000000"}, "-c"},
		{"stray argument", []string{"now"}, "unexpected argument"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags(tc.args, io.Discard)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestNAloneRunsUntilNLogins(t *testing.T) {
	cfg, err := parseFlags([]string{"-n", "10"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.duration != 0 || cfg.logins != 10 {
		t.Fatalf("duration %v logins %d, want 0 and 10", cfg.duration, cfg.logins)
	}
	if cfg.sim.String() != "http://127.0.0.1:8080/_sim" {
		t.Fatalf("default simulator %s, want the built-in one under /_sim", cfg.sim)
	}
}

func TestQuantileIsNearestRank(t *testing.T) {
	var ds []time.Duration
	for i := 100; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	cases := []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.95, 95 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}, {0, time.Millisecond}}
	for _, tc := range cases {
		if got := quantile(ds, tc.q); got != tc.want {
			t.Errorf("q%.2f = %v, want %v", tc.q, got, tc.want)
		}
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("quantile of nothing must be 0")
	}
}

func TestParseMetricsSumsWhatMatters(t *testing.T) {
	text := `# HELP go_sql_wait_count_total The total number of connections waited for.
# TYPE go_sql_wait_count_total counter
go_sql_wait_count_total{db_name="wxlogin"} 12
go_sql_wait_count_total{db_name="other"} 1000
go_sql_wait_duration_seconds_total{db_name="wxlogin"} 0.5
go_sql_max_open_connections{db_name="wxlogin"} 40
wxlogin_http_requests_total{method="GET",route="/wechat/callback",status="302"} 99
wxlogin_http_requests_total{method="GET",route="/wechat/callback",status="503"} 2
wxlogin_http_requests_total{method="GET",route="/x,y",status="500"} 1
wxlogin_logins_total{result="ok"} 7
wxlogin_logins_total{result="duplicate"} 3
wxlogin_exchange_events_total{event="claimed"} 7
wxlogin_duplicate_wait_seconds_count{source="local"} 4
wxlogin_duplicate_wait_seconds_sum{source="local"} 0.008
wxlogin_login_restarts_total 1
garbage line
`
	var sc serverCounters
	sc.Logins, sc.Events, sc.DupWaitCount, sc.DupWaitSum = map[string]float64{}, map[string]float64{}, map[string]float64{}, map[string]float64{}
	if err := parseMetrics(strings.NewReader(text), &sc); err != nil {
		t.Fatal(err)
	}
	if sc.PoolWaits != 12 || sc.PoolWaitSecs != 0.5 || sc.PoolMaxOpen != 40 {
		t.Errorf("pool: %+v", sc)
	}
	if sc.HTTP5xx != 3 {
		t.Errorf("5xx = %v, want 3 (a comma inside a label value must not split it)", sc.HTTP5xx)
	}
	if sc.Logins["ok"] != 7 || sc.Logins["duplicate"] != 3 || sc.Events["claimed"] != 7 || sc.LoginRestarts != 1 {
		t.Errorf("counters: %+v", sc)
	}
	rep := serverReport(serverCounters{}, sc)
	if rep.DuplicateWaitsMS["local"] != 2 {
		t.Errorf("mean local duplicate wait %v ms, want 2", rep.DuplicateWaitsMS["local"])
	}
}

func TestExactlyOnceNeedsOneExchangePerLogin(t *testing.T) {
	before := simStats{Exchanges: 5, CodesIssued: 5}
	cases := []struct {
		name  string
		after simStats
		want  bool
	}{
		{"one each", simStats{Exchanges: 15, CodesIssued: 18}, true},
		{"B's second codes exchanged too", simStats{Exchanges: 18, CodesIssued: 18}, true},
		{"a login without an exchange", simStats{Exchanges: 14, CodesIssued: 18}, false},
		{"more exchanges than codes presented", simStats{Exchanges: 19, CodesIssued: 20}, false},
		{"a code exchanged twice", simStats{Exchanges: 16, CodesIssued: 18, CodesExchangedMoreThanOnce: 1}, false},
	}
	for _, tc := range cases {
		if got := exchangeReport(before, tc.after, 10, 13).ExactlyOnce; got != tc.want {
			t.Errorf("%s: exactly once = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestProfileCategories(t *testing.T) {
	top := `File: wxlogin
Showing nodes accounting for 5s, 100% of 5s total
      flat  flat%   sum%        cum   cum%
     2.50s 50.00% 50.00%      2.50s 50.00%  internal/runtime/syscall/linux.Syscall6
     1.00s 20.00% 70.00%      1.50s 30.00%  github.com/jackc/pgx/v5/pgproto3.(*chunkReader).Next
   500.00ms 10.00% 80.00%      0.60s 12.00%  runtime.mallocgcSmallScanNoHeader
     0.50s 10.00% 90.00%      4.00s 80.00%  wxlogin/handlers.(*Handler).callback
     0.50s 10.00%   100%      0.50s 10.00%  html/template.(*Template).Execute
`
	lines := parseTop(strings.NewReader(top))
	if len(lines) != 5 || lines[2].Flat != 0.5 {
		t.Fatalf("parsed %+v", lines)
	}
	cats := categories(lines)
	if cats[0].name != "system calls (network reads and writes)" || cats[0].pct != 50 {
		t.Fatalf("top category %+v", cats[0])
	}
	want := map[string]string{
		"runtime.mallocgcSmallScanNoHeader":            "Go runtime: allocation and garbage collection",
		"wxlogin/handlers.(*Handler).callback":         "wxlogin's own code",
		"gorm.io/gorm.(*DB).Take":                      "database driver and ORM (pgx, database/sql, GORM)",
		"github.com/gin-gonic/gin.(*Engine).ServeHTTP": "HTTP server and client (net/http, Gin)",
	}
	for fn, c := range want {
		if got := category(fn); got != c {
			t.Errorf("category(%s) = %q, want %q", fn, got, c)
		}
	}
}
