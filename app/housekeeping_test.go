package app

import (
	"testing"
	"time"

	"wxlogin/models"
)

// One pass of housekeeping removes what has outlived its purpose and keeps
// the rest: expired sessions, exchanges and audit rows past retention, and
// pending exchanges whose owner died long ago (closed, not deleted).
func TestPurgeOnce(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", map[string]string{"RETENTION_DAYS": "30"}, Options{})
	b := newBrowser(t)
	e.login(b, in, "zhangsan") // a live session and a fresh done exchange to keep
	db := in.App.DB.Gorm
	now := time.Now().UTC()
	old := now.AddDate(0, 0, -31)
	mustExec := func(q string, args ...any) {
		t.Helper()
		if err := db.Exec(q, args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	mustExec(`INSERT INTO sessions (id_hash, kind, data, created_at, last_seen_at, expires_at) VALUES ('expired', 'user', '', ?, ?, ?)`,
		old, old, now.Add(-time.Hour))
	mustExec(`INSERT INTO sessions (id_hash, kind, data, created_at, last_seen_at, expires_at) VALUES ('idle', 'user', '', ?, ?, ?)`,
		old, old, now.Add(time.Hour))
	row := func(code, status string, created, lease time.Time) {
		mustExec(`INSERT INTO code_exchanges (code_hash, state_hash, browser_hash, status, owner, lease_until, created_at, updated_at)
			VALUES (?, ?, 'b', ?, 'x', ?, ?, ?)`, code, code, status, lease, created, created)
	}
	row("old-done", models.StatusDone, old, old)
	row("stale-pending", models.StatusPending, now.Add(-time.Hour), now.Add(-time.Hour))
	row("live-pending", models.StatusPending, now, now.Add(time.Minute))
	mustExec(`INSERT INTO audit_log (action, created_at) VALUES ('old', ?), ('new', ?)`, old, now)

	in.App.PurgeOnce(t.Context())

	count := func(q string) int64 {
		var n int64
		if err := db.Raw(q).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	checks := []struct {
		what string
		q    string
		want int64
	}{
		{"expired and idle sessions gone", `SELECT count(*) FROM sessions WHERE id_hash IN ('expired', 'idle')`, 0},
		{"the live session kept", `SELECT count(*) FROM sessions`, 1},
		{"exchange past retention gone", `SELECT count(*) FROM code_exchanges WHERE code_hash = 'old-done'`, 0},
		{"stale pending closed as abandoned", `SELECT count(*) FROM code_exchanges WHERE code_hash = 'stale-pending' AND status = 'failed' AND error_kind = 'abandoned'`, 1},
		{"live pending untouched", `SELECT count(*) FROM code_exchanges WHERE code_hash = 'live-pending' AND status = 'pending'`, 1},
		{"the login's exchange kept", `SELECT count(*) FROM code_exchanges WHERE status = 'done'`, 1},
		{"old audit gone, new kept", `SELECT count(*) FROM audit_log`, 1},
	}
	for _, c := range checks {
		if got := count(c.q); got != c.want {
			t.Errorf("%s: %d, want %d", c.what, got, c.want)
		}
	}
	if p := b.get(in.URL + "/profile"); p.Status != 200 {
		t.Fatalf("the live session stopped working: %d", p.Status)
	}
}
