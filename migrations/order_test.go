package migrations

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"testing/fstest"

	_ "github.com/glebarez/go-sqlite"
	"github.com/pressly/goose/v3"
)

// TestLaterMergedLowerNumberStillApplies: a database migrated to 00003 while
// 00002 did not exist yet applies 00002 once it is embedded (migration
// numbers are assigned to features merged in any order).
func TestLaterMergedLowerNumberStillApplies(t *testing.T) {
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mig := func(table string) *fstest.MapFile {
		return &fstest.MapFile{Data: []byte("-- +goose Up\nCREATE TABLE " + table + " (id INTEGER);\n-- +goose Down\nDROP TABLE " + table + ";\n")}
	}
	before := fstest.MapFS{"00001_a.sql": mig("a"), "00003_c.sql": mig("c")}
	after := fstest.MapFS{"00001_a.sql": mig("a"), "00002_b.sql": mig("b"), "00003_c.sql": mig("c")}
	for _, fsys := range []fstest.MapFS{before, after} {
		p, err := newProvider(goose.DialectSQLite3, db, fsys)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Up(context.Background()); err != nil {
			t.Fatalf("up: %v", err)
		}
	}
	if _, err := db.Exec(`INSERT INTO b (id) VALUES (1)`); err != nil {
		t.Fatalf("00002 was not applied: %v", err)
	}
}
