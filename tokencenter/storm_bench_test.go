package tokencenter_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wxlogin/tokencenter"
	"wxlogin/wechat"
	"wxlogin/wechatsim"
)

// BenchmarkTokenStorm is the load: two instances on one Postgres
// make cgi-bin calls needing the token at a fixed rate (open loop) while
// the token is killed every KillEvery: the first kill and every kill 30 s
// or more after our last force is a "stale" kill (only a forced refresh
// repairs it), the others are another server's forced refresh (normal mode
// repairs them). It reports the calls' latency above WeChat's (p50, p99,
// max), the forced refreshes WeChat saw per stale kill, and the calls that
// failed. Run it once per measurement:
//
//	scripts/with-postgres.sh go test -run '^$' -bench TokenStorm -benchtime 1x ./tokencenter/
//
// Settings: STORM_RATE (calls/s, default 2000), STORM_SECONDS (30),
// STORM_KILL_EVERY (10s), STORM_LATENCY (WeChat's latency, 20ms).
func BenchmarkTokenStorm(b *testing.B) {
	rate := envInt("STORM_RATE", 2000)
	secs := envInt("STORM_SECONDS", 30)
	killEvery := envDur("STORM_KILL_EVERY", 10*time.Second)
	latency := envDur("STORM_LATENCY", 20*time.Millisecond)

	sw := newSim(b)
	insts := deployment(b, sw, "prod", 2, tokencenter.Config{})
	for _, in := range insts {
		if err := in.readMenu(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	sw.sim.Reset() // counters from here on
	sw.sim.SetLatency(latency)

	var (
		mu        sync.Mutex
		durations []time.Duration
		failed    atomic.Int64
		refused   atomic.Int64
		wg        sync.WaitGroup
	)
	total := rate * secs
	durations = make([]time.Duration, 0, total)
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+60)*time.Second)
	defer cancel()

	stale, forcedByOthers := 0, 0
	var lastStale time.Time
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(killEvery)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case now := <-t.C:
				if lastStale.IsZero() || now.Sub(lastStale) >= 31*time.Second {
					sw.sim.KillToken(wechatsim.KillStale)
					lastStale = now
					stale++
				} else {
					sw.sim.KillToken(wechatsim.KillForce)
					forcedByOthers++
				}
			}
		}
	}()

	b.ResetTimer()
	const tick = 10 * time.Millisecond
	perTick := max(rate*int(tick)/int(time.Second), 1)
	start := time.Now()
	ticker := time.NewTicker(tick)
	sent := 0
	for sent < total {
		<-ticker.C
		for range perTick {
			in := insts[sent%len(insts)]
			sent++
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				err := in.center.Do(ctx, func(ctx context.Context, token string) error {
					err := in.wx.DeleteMenu(ctx, token)
					if wechat.IsTokenInvalid(err) {
						refused.Add(1)
					}
					return err
				})
				d := time.Since(t0)
				if err != nil {
					failed.Add(1)
					return
				}
				mu.Lock()
				durations = append(durations, d)
				mu.Unlock()
			}()
		}
	}
	ticker.Stop()
	wg.Wait()
	close(stop)
	elapsed := time.Since(start)
	b.StopTimer()

	slices.Sort(durations)
	q := func(p float64) time.Duration {
		if len(durations) == 0 {
			return 0
		}
		return durations[min(int(p*float64(len(durations))), len(durations)-1)]
	}
	above := func(d time.Duration) float64 { return float64(max(d-latency, 0)) / float64(time.Millisecond) }
	st := sw.sim.TokenStats()
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "calls/s")
	b.ReportMetric(above(q(0.50)), "p50-above-wechat-ms")
	b.ReportMetric(above(q(0.99)), "p99-above-wechat-ms")
	b.ReportMetric(above(q(1)), "max-above-wechat-ms")
	b.ReportMetric(float64(failed.Load()), "failed-calls")
	b.ReportMetric(float64(refused.Load()), "40001s")
	b.ReportMetric(float64(st.StableForced), "forced-refreshes")
	b.ReportMetric(float64(stale), "stale-kills")
	b.ReportMetric(float64(forcedByOthers), "others-forced")
	b.ReportMetric(float64(st.StableNormal), "normal-fetches")
	if st.StableForced > stale {
		b.Errorf("%d forced refreshes for %d stale kills", st.StableForced, stale)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDur(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
