package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"wxlogin/models"
	"wxlogin/testdb"
)

// The one-statement login must settle on Postgres's generic plan. Postgres
// plans a prepared statement's first five executions with the parameters'
// values (custom plans) and afterwards keeps custom planning if a custom plan
// looked cheaper than the generic one. Parameters the planner could fold (a
// boolean flag in a WHERE or CASE, a NULL compared with a column) made every
// custom plan look cheaper, so every login paid a planning of the whole
// statement: at 200 browsers 9,404 plans for 11,125 executions, 0.4 ms each,
// a quarter of Postgres's CPU per login (docs/BENCHMARKS.md, "Generic
// plans"). Each kind of login runs here on one connection with pgx's
// statement cache (what wxlogin uses without a pooler), on tables holding
// as many rows as a busy day leaves, and Postgres must stop planning it.
func TestLoginStatementSettlesOnGenericPlan(t *testing.T) {
	ctx := context.Background()
	url := testdb.New(t)
	db, err := models.Open(ctx, url, "", models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	// A day of logins, not yet analysed (autovacuum analyses a table a while
	// after it grew, so a new deployment and every benchmark run until then):
	// the custom plans' costs depend on the tables' statistics.
	if _, err := conn.Exec(ctx, `
		INSERT INTO users (openid, created_at, updated_at) SELECT 'day-' || g, now(), now() FROM generate_series(1, 20000) g;
		INSERT INTO identities (user_id, app, openid, linked_by, created_at) SELECT id, 'oa', openid, 'first', now() FROM users;
		INSERT INTO code_exchanges (code_hash, state_hash, browser_hash, status, owner, lease_until, created_at, updated_at, user_id)
		  SELECT 'c-' || id, 's-' || id, 'b', 'done', 'a', now(), now(), now(), id FROM users;
		SELECT 1`); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.RecordLogin(ctx, models.Login{AppID: "wxoa", OpenID: "with-union", UnionID: "u-1", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	profile := &models.Profile{Nickname: "n", Privilege: "[]"}
	// What one connection runs under the load tool: a person's silent first
	// login, then the userinfo login that asks consent once (a profile and a
	// unionid for a known openid), a returning silent login, an admin's
	// profile refresh.
	kinds := []func(i int) models.Login{
		func(i int) models.Login { return models.Login{OpenID: fmt.Sprintf("p-%d", i), Scope: "snsapi_base"} },
		func(i int) models.Login {
			return models.Login{OpenID: fmt.Sprintf("p-%d", i), UnionID: fmt.Sprintf("u-%d", i), Scope: "snsapi_userinfo", Profile: profile}
		},
		func(i int) models.Login {
			return models.Login{OpenID: fmt.Sprintf("day-%d", i+1), Scope: "snsapi_base"}
		},
		func(i int) models.Login {
			return models.Login{OpenID: fmt.Sprintf("p-%d", i), Scope: "snsapi_userinfo", Profile: profile, Refresh: true}
		},
	}
	const rounds = 12
	for i := range rounds {
		for j, kind := range kinds {
			hash := fmt.Sprintf("plan-%d-%d", i, j)
			if ok, _, err := db.ClaimExchange(ctx, &models.CodeExchange{CodeHash: hash, StateHash: "s-" + hash, BrowserHash: "b",
				NextPath: "/profile", Owner: "a", CreatedAt: time.Now().UTC()}, time.Minute); err != nil || !ok {
				t.Fatalf("claim: %v %v", ok, err)
			}
			l := kind(i)
			l.AppID, l.At = "wxoa", time.Now()
			q, args := models.LoginCompletingSQL(l, hash, models.Fence{Owner: "a", Attempt: 1}, nil)
			var id int64
			var disabled bool
			var finished, sessions int
			if err := conn.QueryRow(ctx, q, args...).Scan(&id, &disabled, &finished, &sessions); err != nil {
				t.Fatalf("round %d, kind %d: %v", i, j, err)
			}
			if finished != 1 {
				t.Fatalf("round %d, kind %d finished %d rows, want 1", i, j, finished)
			}
		}
	}
	rows, err := conn.Query(ctx, `SELECT custom_plans, generic_plans FROM pg_prepared_statements WHERE statement LIKE 'WITH u AS%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var custom, generic int64
		if err := rows.Scan(&custom, &generic); err != nil {
			t.Fatal(err)
		}
		n++
		if custom > 5 {
			t.Errorf("a login statement had %d custom and %d generic plans: Postgres plans it on every execution", custom, generic)
		}
	}
	if err := rows.Err(); err != nil || n == 0 {
		t.Fatalf("no login statement prepared on the connection (%v)", err)
	}
}
