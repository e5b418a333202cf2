// Package migrations holds the versioned SQL schema, one directory per dialect,
// embedded in the binary so that `wxlogin migrate` and start-up need no files.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Dialect names the SQL flavour a database speaks.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Up applies every pending migration. On Postgres a transaction-scoped
// advisory lock (see lockPostgres) serialises instances that start at the
// same moment, so only one of them migrates and the others find the schema
// current.
func Up(ctx context.Context, db *sql.DB, dialect Dialect) (res []*goose.MigrationResult, err error) {
	p, err := provider(db, dialect)
	if err != nil {
		return nil, err
	}
	if dialect == Postgres {
		unlock, err := lockPostgres(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("migrate %s: %w", dialect, err)
		}
		defer func() {
			if uerr := unlock(); uerr != nil && err == nil {
				err = fmt.Errorf("migrate %s: releasing the migration lock: %w", dialect, uerr)
			}
		}()
	}
	res, err = p.Up(ctx)
	if err != nil {
		return res, fmt.Errorf("migrate %s: %w", dialect, err)
	}
	return res, nil
}

// UpTo applies pending migrations up to and including version; tests use it
// to build a database of an older schema and fill it before migrating on.
func UpTo(ctx context.Context, db *sql.DB, dialect Dialect, version int64) error {
	p, err := provider(db, dialect)
	if err != nil {
		return err
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("migrate %s to %d: %w", dialect, version, err)
	}
	return nil
}

// Version reports the schema version the database is at and the newest one embedded.
func Version(ctx context.Context, db *sql.DB, dialect Dialect) (current, target int64, err error) {
	p, err := provider(db, dialect)
	if err != nil {
		return 0, 0, err
	}
	return p.GetVersions(ctx)
}

func provider(db *sql.DB, dialect Dialect) (*goose.Provider, error) {
	sub, err := fs.Sub(files, string(dialect))
	if err != nil {
		return nil, err
	}
	gd := goose.DialectSQLite3
	if dialect == Postgres {
		gd = goose.DialectPostgres
	}
	return newProvider(gd, db, sub)
}

func newProvider(gd goose.Dialect, db *sql.DB, sub fs.FS) (*goose.Provider, error) {
	// Migration numbers are handed out to features developed side by side
	// (00006 may be merged before 00005): a database already at 00006 must
	// still apply 00005 when it arrives instead of refusing to start. Each
	// migration touches its own tables, so the order between them is free.
	return goose.NewProvider(gd, db, sub, goose.WithAllowOutofOrder(true))
}
