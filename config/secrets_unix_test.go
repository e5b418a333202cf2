//go:build unix

package config

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestDevKeyFilesArePrivate: the generated key files are 0600 whatever the
// umask and the directory's mode, and a key file someone left readable by
// others is made private at start-up.
func TestDevKeyFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })

	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	// session.key exists, world-readable; token.key is created.
	if err := os.WriteFile(filepath.Join(dir, "session.key"), []byte(key3+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATA_DIR": dir}
	if _, err := Load(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"session.key", "token.key"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("%s has mode %04o, want 0600", name, perm)
		}
	}
}
