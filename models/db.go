// Package models holds the GORM models and every query wxlogin makes. It
// knows nothing of HTTP; callers pass contexts with deadlines.
package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"wxlogin/migrations"
)

// DB is the application's database handle. On Postgres the process has one
// pool of connections, pgx's (pool): the login's statements run on it
// directly (hotquery.go), and database/sql (SQL), and GORM on top of it, run
// on the same pool, so DB_MAX_CONNS bounds them all together. On SQLite,
// GORM and every query share one database/sql connection.
type DB struct {
	Gorm    *gorm.DB
	SQL     *sql.DB
	Dialect migrations.Dialect
	// URL is the Postgres URL the pool was opened with (empty for SQLite); the
	// LISTEN connection uses it unless DATABASE_LISTEN_URL names another.
	URL string

	mode *queryMode    // nil on SQLite
	pool *pgxpool.Pool // nil on SQLite
}

// Options tune the Postgres pool; zero values pick defaults sized for a
// 2-core host. MaxOpenConns (DB_MAX_CONNS) bounds every connection the
// process opens to the database, whichever API the statement goes through;
// idle connections are kept up to it until ConnMaxIdleTime.
type Options struct {
	MaxOpenConns    int
	ConnMaxLifetime time.Duration
	ConnMaxIdleTime time.Duration
	Logger          *slog.Logger
	// Tracer, when set, sees every statement each Postgres connection sends
	// (pgx's QueryTracer). The round-trip budget test counts a login's
	// statements with it; production leaves it nil. Ignored on SQLite.
	Tracer pgx.QueryTracer
}

// Open connects to Postgres when url is a postgres:// URL, otherwise to an
// embedded SQLite file (url "sqlite:PATH", or dataDir/wxlogin.db when empty).
func Open(ctx context.Context, url, dataDir string, o Options) (*DB, error) {
	gcfg := &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true, // every write here is one statement; no hidden BEGIN/COMMIT
		PrepareStmt:            false,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	var (
		gdb     *gorm.DB
		err     error
		dialect migrations.Dialect
		mode    *queryMode
		pool    *pgxpool.Pool
	)
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		dialect = migrations.Postgres
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		pool, mode, err = openPostgres(pctx, withConnectTimeout(url), o)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("connect to %s database: %w", dialect, err)
		}
		// database/sql keeps no idle connection of its own (OpenDBFromPool
		// sets MaxIdleConns 0) and sets no limit of its own: each of its
		// statements and transactions borrows a pool connection and gives
		// it back when done, so it can neither hold connections the login's
		// statements wait for nor queue separately (one bound, one queue).
		gdb, err = gorm.Open(postgres.New(postgres.Config{Conn: stdlib.OpenDBFromPool(pool)}), gcfg)
		if err != nil {
			pool.Close()
		}
	} else {
		dialect = migrations.SQLite
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "file:")
		if path == "" {
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return nil, fmt.Errorf("create data dir: %w", err)
			}
			path = filepath.Join(dataDir, "wxlogin.db")
		}
		if err := privateSQLite(path); err != nil {
			return nil, fmt.Errorf("open sqlite database: %w", err)
		}
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		gdb, err = gorm.Open(sqlite.Open(dsn), gcfg)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", dialect, err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, err
	}
	if dialect == migrations.SQLite {
		// One writer at a time is all SQLite allows; a single connection turns
		// SQLITE_BUSY storms into an orderly queue. SQLite is for development.
		sqlDB.SetMaxOpenConns(1)
	}
	db := &DB{Gorm: gdb, SQL: sqlDB, Dialect: dialect, mode: mode, pool: pool}
	if dialect == migrations.Postgres {
		db.URL = url
		if o.Logger != nil {
			o.Logger.Info("database connections", "pooler", mode.pooled.Load(), "query_mode", db.QueryMode())
		}
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", dialect, err)
	}
	return db, nil
}

// privateSQLite makes the SQLite database at path private before SQLite
// opens it: SQLite creates its file 0644 (less the umask), and the -wal and
// -shm files beside it with the database file's mode, so the file is created
// 0600 here first. Files an older version left readable by others are made
// private too. The database holds users, sealed tokens and sessions.
func privateSQLite(path string) error {
	if path == ":memory:" || strings.Contains(path, "mode=memory") {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, os.ErrExist) {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, 0o600); err != nil {
				return fmt.Errorf("%s is readable by others (mode %04o) and could not be made private: %w", p, fi.Mode().Perm(), err)
			}
		}
	}
	return nil
}

// withConnectTimeout bounds how long opening a connection may take unless
// the URL says otherwise: a Postgres host that drops packets (rather than
// refusing) would otherwise hang requests instead of answering 503.
func withConnectTimeout(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	if q.Get("connect_timeout") != "" {
		return raw
	}
	q.Set("connect_timeout", "5")
	u.RawQuery = q.Encode()
	return u.String()
}

// applyPool sizes the Postgres pool.
func applyPool(cfg *pgxpool.Config, o Options) {
	if o.MaxOpenConns <= 0 {
		o.MaxOpenConns = 20 // config.DefaultDBMaxConns
	}
	if o.ConnMaxLifetime == 0 {
		o.ConnMaxLifetime = 30 * time.Minute
	}
	if o.ConnMaxIdleTime == 0 {
		o.ConnMaxIdleTime = 5 * time.Minute
	}
	cfg.MaxConns = int32(min(o.MaxOpenConns, math.MaxInt32))
	cfg.MinConns = 0
	cfg.MaxConnLifetime = o.ConnMaxLifetime
	cfg.MaxConnIdleTime = o.ConnMaxIdleTime
}

// Migrate brings the schema up to date.
func (db *DB) Migrate(ctx context.Context) error {
	_, err := migrations.Up(ctx, db.SQL, db.Dialect)
	return err
}

// Ping checks the database answers within ctx.
func (db *DB) Ping(ctx context.Context) error { return db.SQL.PingContext(ctx) }

// Close releases the pool. On Postgres it waits for connections in use to
// come back.
func (db *DB) Close() error {
	err := db.SQL.Close()
	if db.pool != nil {
		db.pool.Close()
	}
	return err
}

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}

// Stats reports the connection pool's use in database/sql's terms, for
// /metrics: on Postgres, pgx's pool, which every statement goes through
// (waits are acquisitions that found no idle connection, including those
// that waited for a new one to be made; idle connections
// closed by age are counted as MaxIdleTimeClosed); on SQLite, database/sql's.
func (db *DB) Stats() sql.DBStats {
	if db.pool == nil {
		return db.SQL.Stats()
	}
	s := db.pool.Stat()
	return sql.DBStats{
		MaxOpenConnections: int(s.MaxConns()),
		OpenConnections:    int(s.TotalConns()),
		InUse:              int(s.AcquiredConns()),
		Idle:               int(s.IdleConns()),
		WaitCount:          s.EmptyAcquireCount(),
		WaitDuration:       s.EmptyAcquireWaitTime(),
		MaxIdleTimeClosed:  s.MaxIdleDestroyCount(),
		MaxLifetimeClosed:  s.MaxLifetimeDestroyCount(),
	}
}
