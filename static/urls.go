package static

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sync"
)

// Fingerprint is the cache-busting version of a file's content: the first
// 12 hex digits of its SHA-256.
func Fingerprint(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

var urls = sync.OnceValues(func() (map[string]string, error) {
	out := map[string]string{}
	err := fs.WalkDir(FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(FS, name)
		if err != nil {
			return err
		}
		out[name] = "/static/" + name + "?v=" + Fingerprint(b)
		return nil
	})
	return out, err
})

// URL returns the fingerprinted URL under which /static/ serves an embedded
// file, so user and admin pages link the same immutable URLs. An unknown
// name is an error: a template that names a missing asset fails to render
// instead of emitting src="".
func URL(name string) (string, error) {
	m, err := urls()
	if err != nil {
		return "", err
	}
	u, ok := m[name]
	if !ok {
		return "", fmt.Errorf("no static asset %q", name)
	}
	return u, nil
}
