// Package models holds the GORM models and every query wxlogin makes. It
// knows nothing of HTTP; callers pass contexts with deadlines.
package models

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"wxlogin/migrations"
)

// DB is the application's database handle: GORM on top of one *sql.DB pool.
type DB struct {
	Gorm    *gorm.DB
	SQL     *sql.DB
	Dialect migrations.Dialect
	// URL is the Postgres URL the pool was opened with (empty for SQLite); the
	// LISTEN connection uses it unless DATABASE_LISTEN_URL names another.
	URL string

	mode *queryMode // nil on SQLite
}

// Options tune the pool; zero values pick defaults sized for a 2-core host.
type Options struct {
	MaxOpenConns    int
	MaxIdleConns    int
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
	)
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		dialect = migrations.Postgres
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		var pool *sql.DB
		pool, mode, err = openPostgres(pctx, withConnectTimeout(url), o.Tracer)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("connect to %s database: %w", dialect, err)
		}
		gdb, err = gorm.Open(postgres.New(postgres.Config{Conn: pool}), gcfg)
		if err != nil {
			_ = pool.Close()
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
	} else {
		applyPool(sqlDB, o)
	}
	db := &DB{Gorm: gdb, SQL: sqlDB, Dialect: dialect, mode: mode}
	if dialect == migrations.Postgres {
		db.URL = url
		if o.Logger != nil {
			o.Logger.Info("database connections", "pooler", mode.pooled.Load(), "query_mode", db.QueryMode())
		}
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		_ = sqlDB.Close()
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

func applyPool(sqlDB *sql.DB, o Options) {
	if o.MaxOpenConns == 0 {
		o.MaxOpenConns = 20 // config.DefaultDBMaxConns
	}
	if o.MaxIdleConns == 0 {
		o.MaxIdleConns = o.MaxOpenConns
	}
	if o.ConnMaxLifetime == 0 {
		o.ConnMaxLifetime = 30 * time.Minute
	}
	if o.ConnMaxIdleTime == 0 {
		o.ConnMaxIdleTime = 5 * time.Minute
	}
	sqlDB.SetMaxOpenConns(o.MaxOpenConns)
	sqlDB.SetMaxIdleConns(o.MaxIdleConns)
	sqlDB.SetConnMaxLifetime(o.ConnMaxLifetime)
	sqlDB.SetConnMaxIdleTime(o.ConnMaxIdleTime)
}

// Migrate brings the schema up to date.
func (db *DB) Migrate(ctx context.Context) error {
	_, err := migrations.Up(ctx, db.SQL, db.Dialect)
	return err
}

// Ping checks the database answers within ctx.
func (db *DB) Ping(ctx context.Context) error { return db.SQL.PingContext(ctx) }

// Close releases the pool.
func (db *DB) Close() error { return db.SQL.Close() }

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

func notFound(err error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return ErrNotFound
	}
	return err
}
