package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	adminpages "wxlogin/admin"
	"wxlogin/models"
	"wxlogin/testdb"
)

// adminEnv points the command at a fresh Postgres database (simulator mode,
// so development keys are generated under a temporary DATA_DIR).
func adminEnv(t *testing.T) string {
	t.Helper()
	url := testdb.New(t)
	t.Setenv("DATABASE_URL", url)
	t.Setenv("DATA_DIR", t.TempDir())
	t.Setenv("WECHAT_APPID", "")
	t.Setenv("WECHAT_SECRET", "")
	return url
}

func runCmd(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// TestAdminCommandExitCodes runs `wxlogin admin ...` in order against one
// database: the exit status tells a script what happened.
func TestAdminCommandExitCodes(t *testing.T) {
	url := adminEnv(t)
	const good = "Tea-Kettle-Orbit-42"
	steps := []struct {
		name     string
		stdin    string
		args     []string
		want     int
		inStderr string
		inStdout string
	}{
		{"empty password", "\n", []string{"admin", "create", "--username", "ops", "--password-stdin"}, 1, "empty password", ""},
		{"no input at all", "", []string{"admin", "create", "--username", "ops", "--password-stdin"}, 1, "empty password", ""},
		{"too short", "Ab1-xyz\n", []string{"admin", "create", "--username", "ops", "--password-stdin"}, 1, "too short", ""},
		{"common word", "Password-2024-x\n", []string{"admin", "create", "--username", "ops", "--password-stdin"}, 1, "too easy", ""},
		{"contains user name", "my-ops-Account-77\n", []string{"admin", "create", "--username", "ops", "--password-stdin"}, 1, "user name", ""},
		{"one kind of character", "abcdefghijklmnop\n", []string{"admin", "create", "--username", "ops", "--password-stdin"}, 1, "too simple", ""},
		{"password on the command line refused", "", []string{"admin", "create", "--username", "ops"}, 2, "--password-stdin is required", ""},
		{"bad user name", good + "\n", []string{"admin", "create", "--username", "o p", "--password-stdin"}, 2, "--username", ""},
		{"good", good + "\n", []string{"admin", "create", "--username", "ops", "--password-stdin"}, 0, "", `admin "ops" created`},
		{"duplicate", good + "\n", []string{"admin", "create", "--username", "ops", "--password-stdin"}, 1, "already exists", ""},
		{"list", "", []string{"admin", "list"}, 0, "", "ops\tactive"},
		{"disable unknown", "", []string{"admin", "disable", "--username", "nobody"}, 1, "no admin", ""},
		{"disable", "", []string{"admin", "disable", "--username", "ops"}, 0, "", "disabled"},
		{"list shows disabled", "", []string{"admin", "list"}, 0, "", "ops\tdisabled"},
		{"enable", "", []string{"admin", "enable", "--username", "ops"}, 0, "", "enabled"},
		{"unlock needs a target", "", []string{"admin", "unlock"}, 2, "--username or --ip", ""},
		{"unlock when not locked", "", []string{"admin", "unlock", "--username", "ops"}, 0, "", "was not locked"},
		{"unknown subcommand", "", []string{"admin", "frobnicate"}, 2, "unknown subcommand", ""},
	}
	for _, s := range steps {
		code, out, errOut := runCmd(s.stdin, s.args...)
		if code != s.want {
			t.Errorf("%s: exit %d, want %d (stderr %q)", s.name, code, s.want, errOut)
		}
		if s.inStderr != "" && !strings.Contains(errOut, s.inStderr) {
			t.Errorf("%s: stderr %q lacks %q", s.name, errOut, s.inStderr)
		}
		if s.inStdout != "" && !strings.Contains(out, s.inStdout) {
			t.Errorf("%s: stdout %q lacks %q", s.name, out, s.inStdout)
		}
		if strings.Contains(out+errOut, good) {
			t.Errorf("%s: the password was echoed", s.name)
		}
	}

	// The stored hash is bcrypt of the given password.
	db, err := models.Open(context.Background(), url, "", models.Options{MaxOpenConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := db.AdminByUsername(context.Background(), "ops")
	if err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(a.PasswordHash)); err != nil || cost < 12 {
		t.Errorf("hash cost %d (%v), want bcrypt with cost >= 12", cost, err)
	}
	if bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(good)) != nil {
		t.Error("the stored hash does not verify the password")
	}

	// unlock releases a lock the login throttle set.
	ctx := context.Background()
	now := time.Now()
	for range 6 {
		if _, err := db.ThrottleAttempt(ctx, "acct:ops", now, time.Hour, time.Hour, 5); err != nil {
			t.Fatal(err)
		}
	}
	if th, _ := db.ThrottleAttempt(ctx, "acct:ops", now, time.Hour, time.Hour, 5); !th.Locked(now) {
		t.Fatal("setup: the account should be locked")
	}
	// The account under one address and under one known device.
	device := adminpages.AccountDeviceKey("ops", "0123456789abcdef0123456789abcdef")
	for _, key := range []string{"acct:ops|ip:203.0.113.9", device} {
		for range 6 {
			if _, err := db.ThrottleAttempt(ctx, key, now, time.Hour, time.Hour, 5); err != nil {
				t.Fatal(err)
			}
		}
	}
	if code, out, errOut := runCmd("", "admin", "unlock", "--username", "OPS"); code != 0 || !strings.Contains(out, "lock released") {
		t.Fatalf("unlock: exit %d, %q %q", code, out, errOut)
	}
	for _, key := range []string{"acct:ops", "acct:ops|ip:203.0.113.9", device} {
		if th, _ := db.ThrottleAttempt(ctx, key, now, time.Hour, time.Hour, 5); th.Locked(now) || th.Failures != 1 {
			t.Fatalf("%s after unlock: %+v, want a fresh count", key, th)
		}
	}
	// An address lock, by --ip.
	for range 6 {
		if _, err := db.ThrottleAttempt(ctx, "ip:203.0.113.9", now, time.Hour, time.Hour, 5); err != nil {
			t.Fatal(err)
		}
	}
	if code, out, _ := runCmd("", "admin", "unlock", "--ip", "203.0.113.9"); code != 0 || !strings.Contains(out, "address 203.0.113.9: failed logins forgotten") {
		t.Fatalf("unlock --ip: exit %d, %q", code, out)
	}
}
