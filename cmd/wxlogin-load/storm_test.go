package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"wxlogin/app"
	wxconfig "wxlogin/config"
	"wxlogin/models"
	"wxlogin/testdb"
	"wxlogin/wechatsim"
)

// world is a simulator on its own server and n wxlogin instances sharing
// one fresh Postgres database, each on its own loopback port — the shape
// bench.sh runs, in-process.
type world struct {
	sim  *wechatsim.Sim
	simU string
	urls []string
	db   string
}

func newWorld(t *testing.T, n int) *world {
	t.Helper()
	sim := wechatsim.New(wechatsim.Options{})
	simSrv := httptest.NewServer(sim.Handler())
	t.Cleanup(simSrv.Close)
	db := testdb.New(t)
	w := &world{sim: sim, simU: simSrv.URL, db: db}
	for i := range n {
		srv := httptest.NewUnstartedServer(nil)
		base := "http://" + srv.Listener.Addr().String()
		vars := map[string]string{
			"DATABASE_URL": db, "BASE_URL": base, "WECHAT_APPID": sim.AppID(), "WECHAT_SECRET": sim.Secret(),
			"WECHAT_OAUTH_URL": simSrv.URL, "WECHAT_API_URL": simSrv.URL, "INSTANCE_ID": "load" + string(rune('a'+i)),
			"SESSION_KEYS": strings.Repeat("01", 32), "TOKEN_KEY": strings.Repeat("02", 32), "DATA_DIR": t.TempDir(),
			"WECHAT_MINI_APPID": sim.MiniAppID(), "WECHAT_MINI_SECRET": sim.MiniSecret(),
		}
		cfg, err := wxconfig.Load(func(k string) string { return vars[k] })
		if err != nil {
			t.Fatal(err)
		}
		a, err := app.New(context.Background(), cfg, app.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		a.Start(ctx)
		srv.Config.Handler = a.Handler
		srv.Start()
		t.Cleanup(func() { srv.Close(); cancel(); _ = a.Close() })
		w.urls = append(w.urls, base)
	}
	return w
}

func (w *world) storm(t *testing.T, extra ...string) *Result {
	t.Helper()
	args := append([]string{"-url", strings.Join(w.urls, ","), "-sim", w.simU, "-progress", "0"}, extra...)
	cfg, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	res, err := storm(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestStormLogsEveryoneInExactlyOnce(t *testing.T) {
	cases := []struct {
		name      string
		instances int
		args      []string
	}{
		{"one instance, doubles of both variants", 1, []string{"-c", "8", "-n", "40", "-dup", "0.5", "-variant", "mix", "-latency", "30ms"}},
		{"two instances, every login doubled", 2, []string{"-c", "6", "-n", "30", "-dup", "1", "-variant", "B", "-latency", "30ms"}},
		{"snsapi_base, no doubles", 1, []string{"-c", "4", "-n", "12", "-dup", "0", "-scope", "snsapi_base", "-latency", "0"}},
		{"the simulator's test users", 1, []string{"-c", "4", "-n", "12", "-dup", "0.5", "-users", "zhangsan,emoji", "-latency", "0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, tc.instances)
			res := w.storm(t, tc.args...)
			if res.Logins.Failed != 0 || res.Logins.OK == 0 {
				t.Fatalf("logins ok %d failed %d: %v", res.Logins.OK, res.Logins.Failed, res.Logins.FailedByReason)
			}
			if !res.Exchanges.ExactlyOnce {
				t.Fatalf("exchanges %+v", res.Exchanges)
			}
			if st := w.sim.Stats(); st.CodesExchangedMoreThanOnce != 0 || st.Exchanges < res.Exchanges.LoginsWithCode || st.Exchanges > res.Exchanges.CodesPresented {
				t.Fatalf("simulator's own view: %+v, logins with a code %d", st, res.Exchanges.LoginsWithCode)
			}
			if res.HTTP5xx.Browser != 0 {
				t.Fatalf("browsers saw %d 5xx", res.HTTP5xx.Browser)
			}
			if res.Server.Instances != tc.instances {
				t.Fatalf("scraped /metrics of %d instances, want %d", res.Server.Instances, tc.instances)
			}
			doubled := res.Logins.Duplicated
			measured := res.DuplicateAfterOwner.All.N + res.Logins.FirstNeverOwned
			if measured != doubled {
				t.Fatalf("%d double callbacks but %d measured or counted as never owned", doubled, measured)
			}
		})
	}
}

// By default every login is a different person, as in a real storm.
func TestStormLogsInDifferentFollowers(t *testing.T) {
	w := newWorld(t, 1)
	res := w.storm(t, "-c", "3", "-n", "15", "-dup", "0.3", "-latency", "0")
	db, err := models.Open(context.Background(), w.db, "", models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var users int64
	if err := db.Gorm.Raw("SELECT count(*) FROM users").Scan(&users).Error; err != nil {
		t.Fatal(err)
	}
	if res.Logins.OK != 15 || users != int64(res.Exchanges.LoginsWithCode) {
		t.Fatalf("%d logins made %d users rows; want one follower per login (%d with a code)", res.Logins.OK, users, res.Exchanges.LoginsWithCode)
	}
}

func TestStormOverTwoInstancesCrossesThem(t *testing.T) {
	w := newWorld(t, 2)
	res := w.storm(t, "-c", "4", "-n", "20", "-dup", "1", "-latency", "30ms")
	if res.DuplicateAfterOwner.CrossInstance.N == 0 {
		t.Fatal("round-robin over two instances never sent a duplicate to the other instance")
	}
	if !res.Exchanges.ExactlyOnce {
		t.Fatalf("exchanges %+v", res.Exchanges)
	}
}

// Mini program mode over two instances: every code sent twice, to both,
// is exchanged with jscode2session once, and both requests log the same
// person in.
func TestMiniStormExchangesEveryCodeOnce(t *testing.T) {
	w := newWorld(t, 2)
	res := w.storm(t, "-mode", "mini", "-c", "4", "-n", "24", "-dup", "0.5", "-latency", "30ms")
	if res.Logins.Failed != 0 || res.Logins.OK != 24 || res.HTTP5xx.Browser != 0 {
		t.Fatalf("logins ok %d failed %d: %v", res.Logins.OK, res.Logins.Failed, res.Logins.FailedByReason)
	}
	st := w.sim.Stats()
	if !res.Exchanges.ExactlyOnce || res.Exchanges.PerCode != 1 || st.ByEndpoint["jscode2session"] != 24 || st.CodesExchangedMoreThanOnce != 0 {
		t.Fatalf("exchanges %+v, simulator %+v", res.Exchanges, st)
	}
	if res.DuplicateAfterOwner.All.N != res.Logins.Duplicated || res.Logins.Duplicated == 0 || res.DuplicateAfterOwner.CrossInstance.N == 0 {
		t.Fatalf("%d doubled, after-owner %+v", res.Logins.Duplicated, res.DuplicateAfterOwner)
	}
	if res.Settings.Mode != "mini" || res.WeChatCallsPerLogin != 1 {
		t.Fatalf("settings %+v, calls per login %d", res.Settings, res.WeChatCallsPerLogin)
	}
}

func TestReportWritesTargetsAndKeepsNotes(t *testing.T) {
	w := newWorld(t, 1)
	dir := t.TempDir()
	args := []string{"-url", w.urls[0], "-sim", w.simU, "-progress", "0", "-c", "2", "-n", "6", "-json", dir + "/r.json"}
	if code := run(args, io.Discard, io.Discard); code != 0 && code != 1 {
		t.Fatalf("run exit %d", code)
	}
	md := dir + "/B.md"
	if err := writeFile(md, "old generated text\n"+notesMarker+"\n## Notes\n\nhand-written finding\n"); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if code := reportCmd([]string{"-run", "1 instance=" + dir + "/r.json", "-meta", "CPU=2 cores", "-keep", md}, &out, io.Discard); code != 0 {
		t.Fatalf("report exit %d", code)
	}
	got := out.String()
	for _, want := range []string{"# Benchmarks", "| CPU | 2 cores |", "complete logins per second", "≥ 1000 complete logins/s on one instance",
		"callback p99 within 25 ms of the floor", notesMarker, "hand-written finding"} {
		if !strings.Contains(got, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(got, "old generated text") {
		t.Error("report kept the old generated part")
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

// A restart is what a browser follows, not a failed login: the tool walks it
// and counts the second code in the exactly-once books.
func TestStormFollowsSilentRestarts(t *testing.T) {
	w := newWorld(t, 1)
	// One rejection: a second one for the same login would rightly be a 502.
	w.sim.SetFault("access_token", wechatsim.Fault{ErrCode: 40029, Count: 1})
	res := w.storm(t, "-c", "1", "-n", "10", "-dup", "0", "-latency", "0")
	if res.Logins.Failed != 0 || res.Logins.OK != 10 || res.Logins.Restarted != 1 {
		t.Fatalf("logins: %d ok, %d failed, %d restarted; want 10, 0, 1 (reasons %v)",
			res.Logins.OK, res.Logins.Failed, res.Logins.Restarted, res.Logins.FailedByReason)
	}
	if !res.Exchanges.ExactlyOnce {
		t.Fatalf("exchanges: %+v", res.Exchanges)
	}
}

// TestCodesPresentedCountsWarmUpSecondCodes: variant B's second code sent
// during the warm-up is a code presented too; without it an app that
// exchanges both codes of variant B failed "exactly once" by the number of
// warm-up B logins.
func TestCodesPresentedCountsWarmUpSecondCodes(t *testing.T) {
	tests := []struct {
		name    string
		warm    bool
		variant string
		want    int
	}{
		{"warm-up B", true, "B", 2},
		{"warm-up A", true, "A", 1},
		{"measured B", false, "B", 2},
		{"measured A", false, "A", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Now()
			c := &collector{measureFrom: now}
			start := now
			if tt.warm {
				start = now.Add(-time.Second)
			}
			c.add(sample{Start: start, ReachedCallback: true, Dup: true, Variant: tt.variant, OK: true})
			if got := c.codesPresented(); got != tt.want {
				t.Fatalf("codesPresented = %d, want %d", got, tt.want)
			}
		})
	}
}
