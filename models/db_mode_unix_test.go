//go:build unix

package models

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSQLiteFilesArePrivate: the development database holds users, tokens
// (sealed) and sessions; its file and the -wal/-shm SQLite creates beside it
// are 0600 whatever the umask and the data directory's mode, and a database
// left readable by others by an older version is made private at open.
func TestSQLiteFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })

	for _, tt := range []struct {
		name     string
		existing bool // a database file from before, mode 0644
		url      func(dir string) string
	}{
		{"new file under DATA_DIR", false, func(string) string { return "" }},
		{"new file at sqlite:PATH", false, func(dir string) string { return "sqlite:" + filepath.Join(dir, "wxlogin.db") }},
		{"existing readable file", true, func(string) string { return "" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.Mkdir(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "wxlogin.db")
			if tt.existing {
				if err := os.WriteFile(path, nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			db, err := Open(context.Background(), tt.url(dir), dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			// A write makes SQLite create the -wal and -shm files (WAL mode).
			if err := db.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"wxlogin.db", "wxlogin.db-wal", "wxlogin.db-shm"} {
				fi, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if perm := fi.Mode().Perm(); perm != 0o600 {
					t.Errorf("%s has mode %04o, want 0600", name, perm)
				}
			}
		})
	}
}
