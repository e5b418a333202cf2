package models

import (
	"context"
	"database/sql/driver"
	"fmt"
	neturl "net/url"
	"strconv"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// How queries reach Postgres, chosen per connection at connect time.
//
// pgx's default (QueryExecModeCacheStatement) prepares a named statement per
// query on the server and reuses it for the connection's life. That is the
// fast path on a direct connection: Postgres parses and plans each query
// once. Behind a transaction-mode pooler (PgBouncer, Supavisor, RDS Proxy,
// pgcat) it breaks: consecutive transactions of one client connection run on
// different server connections, so a statement prepared in one is missing
// in the next (26000) or, prepared again where another client already made
// it, "already exists" (42P05) — `wxlogin migrate` died of the latter.
// Describe-only statements (QueryExecModeCacheDescribe: an unnamed statement
// per query, its parameter and result types cached on the client) never
// outlive their own round trip and are safe there, but make Postgres parse
// and plan every query again; measured in docs/BENCHMARKS.md ("Behind a
// transaction-mode pooler").
//
// So each new connection finds out what it is talking to and gets the mode
// that fits. The test is the backend process id: a direct connection's
// BackendKeyData carries the pid of the server process it is attached to,
// and `SELECT pg_backend_pid()` returns the same number. A transaction-mode
// pooler cannot hand out a server's key — the client is not tied to one
// server — so it invents its own (PgBouncer, pgcat, Supavisor all do), and
// the two differ. The probe runs over the simple query protocol, so it
// leaves no statement behind on whichever server connection answers it.
// Alternatives rejected: a URL hint (`pgbouncer=true`) needs configuring,
// which is what broke users; asking `SHOW pool_mode` only works on
// PgBouncer's admin console; "does a statement prepared in transaction 1
// survive into transaction 2" is answered "yes" by an idle PgBouncer whose
// pool has one server connection, and leaks a prepared statement onto it
// when the answer is "no"; catching 42P05/26000 and retrying would retry
// statements that are not idempotent. A session-mode pooler also fails the
// pid test and gets describe mode: slower than needed there, never wrong.
//
// The mode for the next connection is the pool's current belief (the probe
// made at Open). Every connection is checked after it connects; one whose
// mode does not fit what it reached (DNS moved DATABASE_URL to a pooler or
// off it) is closed and reported as driver.ErrBadConn, which database/sql
// and the query layer (hotquery.go) answer by connecting again — now in the
// fitting mode.
//
// A default_query_exec_mode given in DATABASE_URL (pgx's own parameter, what
// users behind PgBouncer used to add by hand) is obeyed as it is, for every
// connection.
type queryMode struct {
	pooled atomic.Bool       // the last connection checked went through a pooler
	fixed  pgx.QueryExecMode // from the URL; 0: chosen per connection
}

// Pooled reports whether the database connections go through a
// transaction-mode connection pooler (and so use describe-only statements).
func (db *DB) Pooled() bool { return db.mode != nil && db.mode.pooled.Load() }

// QueryMode names the pgx query mode new connections use, for /readyz and logs.
func (db *DB) QueryMode() string {
	if db.mode == nil {
		return "sqlite"
	}
	return db.mode.modeFor(db.mode.pooled.Load()).String()
}

func (m *queryMode) modeFor(pooled bool) pgx.QueryExecMode {
	if m.fixed != 0 {
		return m.fixed
	}
	if pooled {
		return pgx.QueryExecModeCacheDescribe
	}
	return pgx.QueryExecModeCacheStatement
}

// behindPooler compares the backend pid the connection was given at start-up
// with the pid of the server process that runs its queries.
func behindPooler(ctx context.Context, conn *pgx.Conn) (bool, error) {
	res, err := conn.PgConn().Exec(ctx, "SELECT pg_backend_pid()").ReadAll()
	if err != nil {
		return false, err
	}
	if len(res) != 1 || len(res[0].Rows) != 1 || len(res[0].Rows[0]) != 1 {
		return false, fmt.Errorf("pg_backend_pid: unexpected answer")
	}
	pid, err := strconv.ParseUint(string(res[0].Rows[0][0]), 10, 32)
	if err != nil {
		return false, fmt.Errorf("pg_backend_pid: %w", err)
	}
	return uint32(pid) != conn.PgConn().PID(), nil
}

// openPostgres opens the process's one pool, with the query mode of each
// connection fitted to what it reaches (see queryMode) and at most maxConns
// connections. o.Tracer, if not nil, is installed on every pool connection
// (not on the probe). The caller runs database/sql on the same pool (Open).
func openPostgres(ctx context.Context, url string, o Options) (*pgxpool.Pool, *queryMode, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, nil, err
	}
	m := &queryMode{}
	if u, err := neturl.Parse(url); err == nil && u.Query().Get("default_query_exec_mode") != "" {
		m.fixed = cfg.ConnConfig.DefaultQueryExecMode
	}
	probe, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		return nil, nil, err
	}
	pooled, err := behindPooler(ctx, probe)
	_ = probe.Close(context.Background())
	if err != nil {
		return nil, nil, err
	}
	m.pooled.Store(pooled)
	cfg.ConnConfig.Tracer = o.Tracer
	cfg.BeforeConnect = func(_ context.Context, cc *pgx.ConnConfig) error {
		cc.DefaultQueryExecMode = m.modeFor(m.pooled.Load())
		return nil
	}
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		pooled, err := behindPooler(ctx, conn)
		if err == nil && m.modeFor(pooled) == conn.Config().DefaultQueryExecMode {
			return nil
		}
		if err != nil {
			return err
		}
		m.pooled.Store(pooled)
		// driver.ErrBadConn: database/sql connects again, and so does
		// the query layer (retryable); the next one gets the fitting mode.
		return fmt.Errorf("connection reached %s; reconnecting in query mode %s: %w",
			map[bool]string{true: "a transaction pooler", false: "Postgres directly"}[pooled], m.modeFor(pooled), driver.ErrBadConn)
	}
	applyPool(cfg, o)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return pool, m, nil
}
