package models_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	"wxlogin/models"
	"wxlogin/testdb"
)

// On Postgres one pgx pool carries every statement: the login's, sent on
// it directly, and GORM's and database/sql's, which borrow its connections.
// Many logins released together onto a pool of three connections, each
// mixing both kinds (the claim, the user upsert with the finished row or,
// for a first login with a unionid, GORM's locked transaction, the session
// insert and read, GORM updates and a GORM transaction), must all finish:
// no deadlock between the two APIs, no starvation (every login has a
// deadline), and never a fourth connection. The database enforces the
// bound, not the test: the pool connects as a role whose CONNECTION LIMIT is
// the pool's size, so one connection more than DB_MAX_CONNS anywhere (say
// database/sql opening its own, or keeping idle ones outside the pool)
// fails a login with "too many connections for role".
func TestOnePoolBoundsEveryStatement(t *testing.T) {
	const (
		maxConns = 3
		logins   = 48
	)
	admin := testdb.AdminURL(t)
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix)
	role := "pool_" + hex.EncodeToString(suffix)
	execAs(t, admin, fmt.Sprintf("CREATE ROLE %s LOGIN CONNECTION LIMIT %d", role, maxConns))
	t.Cleanup(func() { execAs(t, admin, "DROP ROLE IF EXISTS "+role) }) // after the database is dropped (LIFO)
	dbURL := testdb.New(t)
	execAs(t, dbURL, fmt.Sprintf("GRANT ALL ON ALL TABLES IN SCHEMA public TO %s; GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO %s", role, role))
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	db, err := models.Open(ctx, u.String(), "", models.Options{MaxOpenConns: maxConns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	// Open's probe connection (query mode) is closed, but its server
	// process may still be exiting and would count against the limit.
	waitForBackends(t, admin, role, 1)

	var (
		ready, done sync.WaitGroup
		release     = make(chan struct{})
		errs        = make(chan error, logins)
	)
	ready.Add(logins)
	done.Add(logins)
	for i := range logins {
		go func() {
			defer done.Done()
			ready.Done()
			<-release
			if err := poolLogin(ctx, db, i); err != nil {
				errs <- fmt.Errorf("login %d: %w", i, err)
			}
		}()
	}
	ready.Wait()
	close(release)
	done.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := db.Stats()
	if st.MaxOpenConnections != maxConns || st.OpenConnections > maxConns {
		t.Errorf("pool: %d open, limit %d; want at most %d", st.OpenConnections, st.MaxOpenConnections, maxConns)
	}
	if st.WaitCount == 0 {
		t.Error("no login waited for a connection: the pool was never exhausted, the test proves nothing")
	}
	t.Logf("%d logins on %d connections: %d waits (%s)", logins, maxConns, st.WaitCount, st.WaitDuration)
}

// poolLogin is one login as the callback and the profile page make it,
// with GORM's statements in between.
func poolLogin(ctx context.Context, db *models.DB, i int) error {
	now := time.Now().UTC()
	code := fmt.Sprintf("pool-code-%d", i)
	row := &models.CodeExchange{CodeHash: code, StateHash: "state-" + code, BrowserHash: "b", NextPath: "/profile",
		Scope: "snsapi_base", Owner: "o", CreatedAt: now}
	claimed, _, err := db.ClaimExchange(ctx, row, time.Minute)
	if err != nil || !claimed {
		return fmt.Errorf("claim: %v %w", claimed, err)
	}
	unionid := ""
	if i%2 == 0 { // a first login with a unionid: GORM's transaction under the unionid's lock
		unionid = fmt.Sprintf("pool-union-%d", i)
	}
	done, err := db.RecordLoginCompleting(ctx, webLogin(fmt.Sprintf("pool-openid-%d", i), unionid, now, false),
		code, models.Fence{Owner: "o", Attempt: 1}, nil)
	uid, completed := done.UserID, done.Row
	if err != nil {
		return fmt.Errorf("record login: %w", err)
	}
	if !completed {
		if err := db.CompleteExchange(ctx, code, models.Fence{Owner: "o", Attempt: 1}, uid, fmt.Sprintf("pool-openid-%d", i)); err != nil {
			return fmt.Errorf("complete: %w", err)
		}
	}
	s := &models.Session{IDHash: "pool-session-" + code, Kind: models.SessionUser, UserID: &uid, Data: []byte("{}"),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := db.InsertSession(ctx, s); err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	if err := db.UpdateSession(ctx, s); err != nil { // GORM
		return fmt.Errorf("update session: %w", err)
	}
	got, err := db.SessionWithUserByHash(ctx, s.IDHash)
	if err != nil || got.User == nil || got.User.ID != uid {
		return fmt.Errorf("session with user: %+v %w", got, err)
	}
	if _, err := db.ExchangeByCode(ctx, code); err != nil {
		return fmt.Errorf("exchange row: %w", err)
	}
	return db.Gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		return tx.Raw("SELECT count(*) FROM sessions WHERE user_id = ?", uid).Scan(&n).Error
	})
}

// A statement that finds no row reports sql.ErrNoRows on both dialects
// (pgx's own ErrNoRows on Postgres), which the callers turn into their
// answers: ErrNotFound, a lost claim, no takeover.
func TestNoRowIsNoErrorOnBothDialects(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := t.Context()
		tests := []struct {
			name string
			run  func() error
		}{
			{"exchange row", func() error {
				_, err := db.ExchangeByCode(ctx, "no-such-code")
				return wantNotFound(err)
			}},
			{"session", func() error {
				_, err := db.SessionByHash(ctx, "no-such-session", models.SessionUser)
				return wantNotFound(err)
			}},
			{"session with user", func() error {
				_, err := db.SessionWithUserByHash(ctx, "no-such-session")
				return wantNotFound(err)
			}},
			{"user", func() error {
				_, err := db.UserByID(ctx, 1<<40)
				return wantNotFound(err)
			}},
			{"takeover of no row", func() error {
				_, ok, err := db.TakeOverExchange(ctx, "no-such-code", "o", time.Minute)
				if ok || err != nil {
					return fmt.Errorf("took over: %v, %v", ok, err)
				}
				return nil
			}},
			{"second claim of a code", func() error {
				now := time.Now().UTC()
				row := &models.CodeExchange{CodeHash: "twice", StateHash: "s-twice", BrowserHash: "b", NextPath: "/", Owner: "o", CreatedAt: now}
				if ok, _, err := db.ClaimExchange(ctx, row, time.Minute); !ok || err != nil {
					return fmt.Errorf("first claim: %v, %v", ok, err)
				}
				if ok, _, err := db.ClaimExchange(ctx, row, time.Minute); ok || err != nil {
					return fmt.Errorf("second claim: %v, %v", ok, err)
				}
				return nil
			}},
		}
		for _, tt := range tests {
			if err := tt.run(); err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
		}
	})
}

func wantNotFound(err error) error {
	if !errors.Is(err, models.ErrNotFound) {
		return fmt.Errorf("got %v, want ErrNotFound", err)
	}
	return nil
}

// The pgx version in go.mod keeps ErrNoRows matching database/sql's, which
// the query layer's callers test for on both dialects.
func TestPgxNoRowsIsSQLNoRows(t *testing.T) {
	if !errors.Is(pgx.ErrNoRows, sql.ErrNoRows) {
		t.Fatal("pgx.ErrNoRows does not match sql.ErrNoRows")
	}
}

// waitForBackends waits until role has at most n server processes.
func waitForBackends(t *testing.T, admin, role string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		var have int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity WHERE usename = $1", role).Scan(&have); err != nil {
			t.Fatal(err)
		}
		if have <= n {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("role %s still has %d server processes, want at most %d", role, have, n)
		case <-tick.C:
		}
	}
}

func execAs(t *testing.T, dbURL, q string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, q); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}
