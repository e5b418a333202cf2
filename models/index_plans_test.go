package models_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"wxlogin/testdb"
)

// TestIndexPlans is the evidence behind migration 00011's index diet, kept
// as a test: on a seeded Postgres (50k users, 100k exchanges over the 90
// days housekeeping keeps, 50k sessions, ANALYZEd), every query that reads
// an index that was dropped, narrowed or kept on purpose still finds its
// rows through an index, never by reading the whole table. A change that
// drops another index or rewrites one of these queries so that an admin page
// or a housekeeping run would scan every row fails here. The statements are
// the models' own (same WHERE, ORDER BY and LIMIT); the planner's choice is
// what is asserted, not a timing.
func TestIndexPlans(t *testing.T) {
	db := testdb.Open(t)
	ctx := context.Background()
	now := time.Now().UTC()
	seed := []string{
		`INSERT INTO users (openid, unionid, nickname, created_at, updated_at, last_login_at, login_count)
		 SELECT 'o' || g, CASE WHEN g % 3 = 0 THEN 'u' || g END, 'n' || g,
		        $1::timestamptz - (50000 - g) * interval '3 minutes', $1, $1 - (g % 1000) * interval '1 hour', 1
		 FROM generate_series(1, 50000) g`,
		`INSERT INTO identities (user_id, app, openid, unionid, linked_by, created_at, login_count)
		 SELECT id, 'oa', openid, unionid, 'first', created_at, 1 FROM users`,
		// 100k exchanges over 90 days, in id order; a few still pending.
		`INSERT INTO code_exchanges (code_hash, state_hash, browser_hash, status, owner, lease_until, user_id, openid,
		        error_kind, created_at, updated_at, finished_at)
		 SELECT 'c' || g, 's' || g, 'b', CASE WHEN g > 99990 THEN 'pending' WHEN g % 10 = 0 THEN 'failed' ELSE 'done' END, 'i',
		        $1::timestamptz + interval '15 seconds', CASE WHEN g % 10 <> 0 AND g <= 99990 THEN 1 + g % 50000 END, 'o' || (1 + g % 50000),
		        CASE WHEN g % 10 = 0 THEN 'unavailable' END,
		        $1::timestamptz - (100000 - g) * interval '77 seconds', $1, $1
		 FROM generate_series(1, 100000) g`,
		`INSERT INTO sessions (id_hash, kind, user_id, data, created_at, last_seen_at, expires_at)
		 SELECT 'h' || g, 'user', g, '\x00', $1, $1, $1::timestamptz + interval '7 days' FROM generate_series(1, 50000) g`,
	}
	for _, q := range seed {
		var args []any
		if strings.Contains(q, "$1") {
			args = []any{now}
		}
		if _, err := db.SQL.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("seeding: %v\n%s", err, q)
		}
	}
	if _, err := db.SQL.ExecContext(ctx, `ANALYZE`); err != nil {
		t.Fatal(err)
	}

	day := now.Add(-24 * time.Hour)
	for _, c := range []struct {
		name  string
		query string
		args  []any
		index string // the index that must serve it
	}{
		// Housekeeping's abandon (models.AbandonStale): the pending lease
		// index is gone; the pending-state unique index holds the few
		// pending rows.
		{"abandon stale pending", `UPDATE code_exchanges SET status = 'failed', error_kind = 'abandoned'
		    WHERE status = 'pending' AND lease_until < $1`, []any{now}, "code_exchanges_pending_state_idx"},
		// The login log of one user (admin user page → models.ListExchanges
		// with a user), newest first: the narrowed (user_id, id) index.
		{"login log of a user", `SELECT e.id, e.status, u.nickname FROM code_exchanges AS e
		    LEFT JOIN users u ON u.id = e.user_id WHERE e.user_id = $1 ORDER BY e.id DESC LIMIT 50`, []any{int64(42)}, "code_exchanges_user_id_idx"},
		{"count of a user's logins", `SELECT count(*) FROM code_exchanges AS e WHERE e.user_id = $1`, []any{int64(42)}, "code_exchanges_user_id_idx"},
		// The merge moves a user's exchanges (models/merge.go).
		{"merge moves exchanges", `UPDATE code_exchanges SET user_id = $1 WHERE user_id = $2`, []any{int64(1), int64(2)}, "code_exchanges_user_id_idx"},
		// created_at stays: the dashboard's 24-hour counts, the charts, the
		// login log's date filter and the retention purge read it.
		{"dashboard logins 24h", `SELECT COUNT(*) FROM code_exchanges WHERE status = 'done' AND error_kind IS NULL AND created_at >= $1`, []any{day}, "code_exchanges_created_at_idx"},
		{"hourly chart", `SELECT CAST(FLOOR((EXTRACT(EPOCH FROM created_at) + 28800) / 3600) AS BIGINT) AS slot, COUNT(*)
		    FROM code_exchanges WHERE created_at >= $1 GROUP BY 1 ORDER BY 1`, []any{day}, "code_exchanges_created_at_idx"},
		{"retention purge", `DELETE FROM code_exchanges WHERE created_at < $1 AND status <> 'pending'`, []any{now.AddDate(0, 0, -89)}, "code_exchanges_created_at_idx"},
		{"login log date range", `SELECT count(*) FROM code_exchanges AS e WHERE e.created_at >= $1 AND e.created_at < $2`, []any{day, now}, "code_exchanges_created_at_idx"},
		// The admin list's per-row subqueries.
		{"live sessions of a user", `SELECT COUNT(*) FROM sessions s WHERE s.user_id = $1 AND s.expires_at > $2`, []any{int64(42), now}, "sessions_user_id_idx"},
		{"identities of a user", `SELECT 1 FROM identities i WHERE i.user_id = $1 AND i.app = 'oa'`, []any{int64(42)}, "identities_user_id_idx"},
		// The unionid lookups of the login's merge check.
		{"users by unionid", `SELECT id FROM users WHERE unionid = $1`, []any{"u300"}, "users_unionid_idx"},
		{"identities by unionid", `SELECT user_id FROM identities WHERE unionid = $1`, []any{"u300"}, "identities_unionid_idx"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows, err := db.SQL.QueryContext(ctx, "EXPLAIN "+c.query, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			plan := readPlan(t, rows)
			if !strings.Contains(plan, c.index) || strings.Contains(plan, "Seq Scan on code_exchanges") ||
				strings.Contains(plan, "Seq Scan on sessions") || strings.Contains(plan, "Seq Scan on identities") {
				t.Fatalf("want a plan through %s, got:\n%s", c.index, plan)
			}
		})
	}

	// The indexes 00011 dropped were read by nothing: put them back for the
	// length of a transaction and the queries that could have used them
	// still do not (the admin list's "NULLs last" sort puts a CASE before
	// the column; the session purge is an OR with unindexed last_seen_at).
	// The dashboard's user counts now read every user in one pass, as its
	// total always did.
	t.Run("dropped indexes were unread", func(t *testing.T) {
		tx, err := db.SQL.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback() //nolint:errcheck
		for _, q := range []string{
			`CREATE INDEX users_created_at_idx ON users (created_at)`,
			`CREATE INDEX users_last_login_at_idx ON users (last_login_at)`,
			`CREATE INDEX sessions_expires_at_idx ON sessions (expires_at)`,
		} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			name, query, index string
			args               []any
		}{
			{"users by last login", `SELECT users.id FROM users ORDER BY CASE WHEN users.last_login_at IS NULL THEN 1 ELSE 0 END,
			    users.last_login_at DESC, users.id DESC LIMIT 50 OFFSET 0`, "users_last_login_at_idx", nil},
			{"users by first login", `SELECT users.id FROM users ORDER BY CASE WHEN users.created_at IS NULL THEN 1 ELSE 0 END,
			    users.created_at ASC, users.id ASC LIMIT 50 OFFSET 0`, "users_created_at_idx", nil},
			{"dashboard user counts", `SELECT COUNT(*), COALESCE(SUM(CASE WHEN created_at >= $1 THEN 1 ELSE 0 END), 0) FROM users`, "users_created_at_idx", []any{day}},
			{"session purge", `DELETE FROM sessions WHERE expires_at < $1 OR last_seen_at < $2 OR (user_id IS NULL AND admin_id IS NULL AND last_seen_at < $3)`,
				"sessions_expires_at_idx", []any{now, now.Add(-7 * 24 * time.Hour), now.Add(-10 * time.Minute)}},
		} {
			rows, err := tx.QueryContext(ctx, "EXPLAIN "+c.query, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			if plan := readPlan(t, rows); strings.Contains(plan, c.index) {
				t.Errorf("%s: the plan reads %s, which 00011 dropped:\n%s", c.name, c.index, plan)
			}
		}
	})

	// The cascades a merge's DELETE FROM users fires run as generic plans
	// (a prepared statement per foreign key): the partial user indexes
	// still serve them, since user_id = $1 implies user_id IS NOT NULL.
	for _, c := range []struct{ name, query, index string }{
		{"ON DELETE SET NULL of exchanges", `UPDATE ONLY code_exchanges SET user_id = NULL WHERE $1 OPERATOR(pg_catalog.=) user_id`, "code_exchanges_user_id_idx"},
		{"ON DELETE CASCADE of sessions", `DELETE FROM ONLY sessions WHERE $1 OPERATOR(pg_catalog.=) user_id`, "sessions_user_id_idx"},
		{"ON DELETE CASCADE of identities", `DELETE FROM ONLY identities WHERE $1 OPERATOR(pg_catalog.=) user_id`, "identities_user_id_idx"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := db.SQL.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			for _, q := range []string{`SET plan_cache_mode = force_generic_plan`, `PREPARE fk (bigint) AS ` + c.query} {
				if _, err := conn.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			defer conn.ExecContext(ctx, `DEALLOCATE fk; RESET plan_cache_mode`) //nolint:errcheck
			rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE fk(42)`)
			if err != nil {
				t.Fatal(err)
			}
			plan := readPlan(t, rows)
			if !strings.Contains(plan, c.index) || strings.Contains(plan, "Seq Scan") {
				t.Fatalf("want a generic plan through %s, got:\n%s", c.index, plan)
			}
		})
	}
}

func readPlan(t *testing.T, rows *sql.Rows) string {
	t.Helper()
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
