package testdb

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Cluster is a Postgres cluster of one test's own, for fault tests that stop
// and start the server: stopping the shared cluster would break every other
// test running at the same time.
type Cluster struct {
	URL string
	// PoolerURL is the same cluster through its own PgBouncer in transaction
	// mode, which stays up while Stop and Start restart Postgres.
	PoolerURL string
	vars      map[string]string
	t         testing.TB
}

// PrivateCluster starts a new throwaway cluster with scripts/with-postgres.sh
// (the same script `make test` uses) and removes it when the test ends.
func PrivateCluster(t testing.TB) *Cluster {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "scripts", "with-postgres.sh")
	cmd := exec.Command("bash", script, "bash", "-c",
		`echo "URL=$TEST_DATABASE_URL"; echo "POOLER=$TEST_PGBOUNCER_URL"; env | grep '^PGTEST_'; echo READY; read -r _`)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting a private Postgres cluster: %v", err)
	}
	c := &Cluster{vars: map[string]string{}, t: t}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if line == "READY" {
			break
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			c.vars[k] = v
		}
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	t.Cleanup(func() {
		_ = stdin.Close() // the script's command ends; it stops and removes the cluster
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	c.URL = c.vars["URL"]
	if c.URL == "" {
		t.Fatal("private Postgres cluster did not start (see stderr)")
	}
	c.PoolerURL = c.vars["POOLER"]
	return c
}

// Pooler is the cluster's URL through its PgBouncer; the test fails
// (never skips) when PgBouncer could not be started.
func (c *Cluster) Pooler(t testing.TB) string {
	t.Helper()
	return throughPooler(t, c.PoolerURL, c.URL)
}

// Stop shuts the server down (fast mode), as an operator's restart would.
func (c *Cluster) Stop() { c.pgctl("-m", "fast", "-w", "stop") }

// Start brings the same cluster back on the same port.
func (c *Cluster) Start() {
	c.pgctl("-o", c.vars["PGTEST_PGOPTS"], "-l", c.vars["PGTEST_LOGFILE"], "-w", "-t", "60", "start")
}

func (c *Cluster) pgctl(args ...string) {
	c.t.Helper()
	args = append([]string{c.vars["PGTEST_PGCTL"], "-D", c.vars["PGTEST_DATADIR"]}, args...)
	if u := c.vars["PGTEST_PGCTL_USER"]; u != "" {
		args = append([]string{"runuser", "-u", u, "--"}, args...)
	}
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		c.t.Fatalf("pg_ctl %v: %v\n%s", args, err, out)
	}
}
