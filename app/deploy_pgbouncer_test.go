package app

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"wxlogin/models"
	"wxlogin/testdb"
)

// pgbouncerConf is the PgBouncer configuration shipped in deploy/.
const pgbouncerConf = "../deploy/pgbouncer/pgbouncer.ini"

// TestDeployPgBouncerConfigWorks starts the real PgBouncer with the shipped
// configuration — only where it points (the [databases] target), where it
// listens and where its files are replaced — and wxlogin migrates an empty
// database and answers queries through it, in the pooled query mode. It
// authenticates with SCRAM as configured.
func TestDeployPgBouncerConfigWorks(t *testing.T) {
	raw, err := os.ReadFile(pgbouncerConf)
	if err != nil {
		t.Fatal(err)
	}
	conf := string(raw)
	for _, want := range []string{"pool_mode = transaction", "auth_type = scram-sha-256", "server_login_retry = 1"} {
		if !strings.Contains(conf, "\n"+want+"\n") {
			t.Fatalf("%s lacks %q", pgbouncerConf, want)
		}
	}
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/pgbouncer"); serr != nil {
			t.Fatal("pgbouncer is not installed: `make test` installs Debian's pgbouncer package when run as root " +
				"(scripts/with-postgres.sh); otherwise install it (apt-get install pgbouncer)")
		}
		bin = "/usr/sbin/pgbouncer"
	}

	dbURL := testdb.NewEmpty(t)
	u, _ := url.Parse(dbURL)
	dir, err := os.MkdirTemp("", "pgb")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	port := freePort(t)
	replace := []struct{ re, with string }{
		{`(?m)^wxlogin = .*$`, fmt.Sprintf("wxlogin = host=%s port=%s dbname=%s", u.Hostname(), u.Port(), strings.TrimPrefix(u.Path, "/"))},
		{`(?m)^listen_addr = .*$`, "listen_addr = 127.0.0.1"},
		{`(?m)^listen_port = .*$`, fmt.Sprintf("listen_port = %d\nunix_socket_dir =\nlogfile = %s/pgbouncer.log", port, dir)},
		{`(?m)^auth_file = .*$`, "auth_file = " + dir + "/userlist.txt"},
	}
	for _, r := range replace {
		re := regexp.MustCompile(r.re)
		if !re.MatchString(conf) {
			t.Fatalf("%s: no line matches %s", pgbouncerConf, r.re)
		}
		conf = re.ReplaceAllString(conf, r.with)
	}
	// The shipped userlist's format (its comments) with the test cluster's user.
	users, err := os.ReadFile("../deploy/pgbouncer/userlist.txt")
	if err != nil {
		t.Fatal(err)
	}
	const user, password = "postgres", "pgb-test-password"
	files := map[string]string{"pgbouncer.ini": conf, "userlist.txt": string(users) + fmt.Sprintf("%q %q\n", user, password)}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{bin, filepath.Join(dir, "pgbouncer.ini")}
	if os.Geteuid() == 0 { // PgBouncer refuses to run as root
		runAs := os.Getenv("PGTEST_PGCTL_USER")
		if runAs == "" {
			runAs = "postgres"
		}
		_ = os.Chmod(dir, 0o777)
		args = append([]string{"runuser", "-u", runAs, "--"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	waitFor(t, func() bool {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "pgbouncer.log"))
			t.Fatalf("pgbouncer exited:\n%s\n%s", out.String(), log)
		default:
		}
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	})

	pooled := fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/wxlogin?sslmode=disable", user, password, port)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := models.Open(ctx, pooled, "", models.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatalf("open through the shipped PgBouncer config: %v", err)
	}
	defer db.Close()
	if !db.Pooled() {
		t.Fatal("connections through PgBouncer were not recognised as pooled")
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate through PgBouncer: %v", err)
	}
	if _, err := db.CountExchanges(ctx, ""); err != nil {
		t.Fatalf("query through PgBouncer: %v", err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
