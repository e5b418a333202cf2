package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"wxlogin/testdb"
)

// Three `wxlogin serve` processes and a `wxlogin migrate` start at the same
// moment on an empty database through PgBouncer in transaction mode, with
// nothing configured for it (the `migrate` run died of 42P05 before): all
// migrate and serve, report the pooler in /readyz, and a login whose
// Android duplicates land on all three is exchanged once.
func TestProcessesStartTogetherThroughPooler(t *testing.T) {
	s, sim := newSim(t)
	dbURL := testdb.PoolerURL(t, testdb.NewEmpty(t))
	var backends [3]*url.URL
	lb := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(r.Header.Get("X-Instance"))
		httputil.NewSingleHostReverseProxy(backends[i]).ServeHTTP(w, r)
	}))
	base := "http://" + lb.Listener.Addr().String()
	lb.Start()
	t.Cleanup(lb.Close)

	migrate := exec.Command(binary(t), "migrate")
	migrate.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "DATA_DIR="+t.TempDir())
	var procs []*proc
	for i := range backends {
		procs = append(procs, spawnProc(t, sim, s, dbURL, base, "p"+strconv.Itoa(i)))
	}
	out, err := migrate.CombinedOutput()
	if err != nil {
		t.Fatalf("wxlogin migrate through PgBouncer: %v\n%s", err, out)
	}
	for i, p := range procs {
		p.waitReady(t, "p"+strconv.Itoa(i))
		backends[i], _ = url.Parse(p.url)
		res, err := http.Get(p.url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(body), "transaction pooler") {
			t.Fatalf("p%d /readyz: %q", i, body)
		}
	}

	ph := newPhone()
	cb := ph.callbackURL(t, base, "X-Instance", "0")
	s.SetLatency(50 * time.Millisecond)
	start := make(chan struct{})
	codes := make([]int, 6)
	errs := make([]error, 6)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := ph.get(context.Background(), cb, "X-Instance", strconv.Itoa(i%3))
			if err == nil {
				codes[i] = res.StatusCode
			}
			errs[i] = err
		}()
	}
	close(start)
	wg.Wait()
	for i := range codes {
		if errs[i] != nil || codes[i] != http.StatusFound {
			t.Fatalf("callback %d on p%d: %d %v", i, i%3, codes[i], errs[i])
		}
	}
	if n := s.ExchangeCount(codeIn(t, cb)); n != 1 {
		t.Fatalf("code exchanged %d times across three processes, want 1", n)
	}
	for i := range procs {
		res, err := ph.get(context.Background(), base+"/profile", "X-Instance", strconv.Itoa(i))
		if err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("profile on p%d: %v %v", i, res, err)
		}
	}
}
