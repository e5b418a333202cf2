package config

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// keys parses a comma-separated list of 64-hex-character secrets. A key of
// all zeros (a placeholder, not a secret) and a key listed twice (a rotation
// pasted wrong) are refused: both look valid and would silently weaken or
// confuse the signing.
func keys(name, s string) ([][]byte, error) {
	if s == "" {
		return nil, nil
	}
	var out [][]byte
	for i, part := range strings.Split(s, ",") {
		b, err := parseKey(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("%s: key %d %v", name, i+1, err)
		}
		for j, prev := range out {
			if bytes.Equal(prev, b) {
				return nil, fmt.Errorf("%s: keys %d and %d are the same; list each key once, newest first", name, j+1, i+1)
			}
		}
		out = append(out, b)
	}
	return out, nil
}

// parseKey decodes one 32-byte key; the error completes "key N ...".
func parseKey(s string) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, errors.New("is not 64 hex characters (32 bytes)")
	}
	if bytes.Equal(b, make([]byte, 32)) {
		return nil, errors.New("is all zeros; generate one with `openssl rand -hex 32`")
	}
	return b, nil
}

// separateKeys refuses a session key that is also a token key: one secret
// doing two jobs means a leak of either (say, an old session key kept for
// rotation) also opens the stored WeChat tokens.
func separateKeys(session, token [][]byte) error {
	for i, s := range session {
		for j, t := range token {
			if bytes.Equal(s, t) {
				return fmt.Errorf("SESSION_KEYS: key %d is the same as TOKEN_KEY key %d; use a separate secret for each (`openssl rand -hex 32`)", i+1, j+1)
			}
		}
	}
	return nil
}

// devKey returns the development key kept in dir/name, creating it on first
// use. An existing file that does not hold a valid key stops the start rather
// than being replaced: token.key encrypts the stored WeChat tokens and
// session.key signs every session, so a silent new key would make all of them
// unreadable. The file is private (0600) whatever the umask or the mode of
// the directory; an existing file readable by others is tightened.
func devKey(dir, name, variable string) ([]byte, error) {
	path := filepath.Join(dir, name)
	for attempt := 0; ; attempt++ {
		b, err := os.ReadFile(path)
		if err == nil {
			k, perr := parseKey(strings.TrimSpace(string(b)))
			if perr != nil {
				return nil, fmt.Errorf("%s: %s is malformed (the key in it %v); it is not replaced, since what it encrypted or signed would become unreadable: restore it, set %s, or delete the file to start over with a new key", variable, path, perr, variable)
			}
			if err := private(path); err != nil {
				return nil, fmt.Errorf("%s: %w", variable, err)
			}
			return k, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: reading %s: %w", variable, path, err)
		}
		if attempt > 0 {
			return nil, fmt.Errorf("%s: %s vanished while it was being created", variable, path)
		}
		created, err := createKeyFile(dir, path)
		if err != nil {
			return nil, fmt.Errorf("%s: generating a development key in %s: %w", variable, path, err)
		}
		if created != nil {
			return created, nil
		}
		// Another process created it first: read theirs.
	}
}

// createKeyFile writes a new random key to path without ever replacing an
// existing file: the key goes to a private temporary file first, which is
// then hard-linked into place (fails if path exists). A crash never leaves a
// half-written key behind. It returns nil, nil when path appeared meanwhile.
func createKeyFile(dir, path string) ([]byte, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, ".key-*") // 0600
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	defer func() { _ = os.Remove(tmp) }()
	_, werr := f.WriteString(hex.EncodeToString(k) + "\n")
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return nil, werr
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, nil
		}
		return nil, err
	}
	return k, nil
}

// private makes path readable by its owner only, if it is not already.
func private(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return nil
	}
	if err := os.Chmod(path, 0o600); err != nil {
		return fmt.Errorf("%s is readable by others (mode %04o) and could not be made private: %w", path, fi.Mode().Perm(), err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
