package app

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"wxlogin/testdb"
	"wxlogin/wechatsim"
)

// TestPushPostgresDown: with Postgres stopped under a running instance every
// push answers 503 (never `success` for a push that was not stored); once it
// is back, WeChat's retries are all stored, none twice.
func TestPushPostgresDown(t *testing.T) {
	cl := testdb.PrivateCluster(t)
	e := newEnv(t)
	e.DBURL = cl.URL
	in := e.start("a", map[string]string{"DB_MAX_CONNS": "4", "WECHAT_TOKEN": testPushToken, "WECHAT_AES_KEY": testPushAESKey}, Options{})

	const n = 6
	var firstTries sync.WaitGroup
	firstTries.Add(n)
	restarted := make(chan struct{})
	var once sync.Map
	e.Sim.ConfigurePush(wechatsim.PushConfig{
		URLs: []string{in.URL + "/wechat/notify"}, Token: testPushToken, AESKey: testPushAESKey, Mode: wechatsim.PushSafe,
		Timeout: 20 * time.Second,
	})
	cl.Stop()

	results := make([]wechatsim.PushResult, n)
	var wg sync.WaitGroup
	base := time.Now().Truncate(time.Second)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := wechatsim.PushEvent{OpenID: "oOutage", Event: "VIEW", EventKey: "https://example.com/" + string(rune('a'+i)),
				MenuID: "1", CreateTime: base}
			if i%2 == 1 {
				ev = wechatsim.PushEvent{OpenID: "oOutage" + string(rune('a'+i)), MsgType: "text", Content: "hi", MsgID: int64(7000 + i), CreateTime: base}
			}
			// Each push holds its first retry until Postgres is back.
			results[i], _ = e.Sim.PushWith(context.Background(), ev, func(attempt int) {
				if attempt == 2 {
					if _, dup := once.LoadOrStore(i, true); !dup {
						firstTries.Done()
					}
					<-restarted
				}
			})
		}()
	}
	firstTries.Wait()
	cl.Start()
	close(restarted)
	wg.Wait()

	for i, r := range results {
		if !r.Delivered || len(r.Attempts) < 2 {
			t.Fatalf("push %d: %+v", i, r)
		}
		if a := r.Attempts[0]; a.Status != http.StatusServiceUnavailable {
			t.Errorf("push %d during the outage: %d %q, want 503", i, a.Status, a.Body)
		}
		for _, a := range r.Attempts[:len(r.Attempts)-1] {
			if a.Body == "success" {
				t.Errorf("push %d: `success` before it was stored (attempt %d)", i, a.Attempt)
			}
		}
	}
	var rows, deliveries int
	if err := in.App.DB.SQL.QueryRow(`SELECT COUNT(*), COALESCE(SUM(deliveries), 0) FROM pushes`).Scan(&rows, &deliveries); err != nil {
		t.Fatal(err)
	}
	if rows != n || deliveries != n {
		t.Errorf("after the outage %d pushes with %d deliveries stored, want %d and %d", rows, deliveries, n, n)
	}
}
