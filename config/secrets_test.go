package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	zeroKey = "0000000000000000000000000000000000000000000000000000000000000000"
	key3    = "0303030303030303030303030303030303030303030303030303030303030303"
)

// TestKeysMustBeDistinctAndNonZero: a session key that is also the token
// key, an all-zero key and a key listed twice all look valid but are not
// secrets doing one job each; they stop the start, naming the variable.
func TestKeysMustBeDistinctAndNonZero(t *testing.T) {
	prod := map[string]string{"WECHAT_APPID": "wx123", "WECHAT_SECRET": "s"}
	tests := []struct {
		name    string
		session string
		token   string
		wantErr []string // nil = ok
	}{
		{"distinct keys", key, tokenKey, nil},
		{"distinct rotations", key + "," + key3, tokenKey + "," + strings.ToUpper(key3[:62]) + "04", nil},
		{"session key is the token key", key, key, []string{"SESSION_KEYS", "TOKEN_KEY"}},
		{"old session key is the token key", key3 + "," + tokenKey, tokenKey, []string{"SESSION_KEYS: key 2", "TOKEN_KEY key 1"}},
		{"session key is an old token key", key, tokenKey + "," + key, []string{"SESSION_KEYS: key 1", "TOKEN_KEY key 2"}},
		{"all-zero session key", zeroKey, tokenKey, []string{"SESSION_KEYS: key 1", "all zeros"}},
		{"all-zero token key", key, zeroKey, []string{"TOKEN_KEY: key 1", "all zeros"}},
		{"all-zero old session key", key + "," + zeroKey, tokenKey, []string{"SESSION_KEYS: key 2", "all zeros"}},
		{"duplicate session keys", key + "," + key, tokenKey, []string{"SESSION_KEYS", "same"}},
		{"duplicate session keys in other case", key3 + "," + key + "," + strings.ToUpper(key3), tokenKey, []string{"SESSION_KEYS: keys 1 and 3"}},
		{"duplicate token keys", key, tokenKey + ", " + tokenKey, []string{"TOKEN_KEY", "same"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"SESSION_KEYS": tt.session, "TOKEN_KEY": tt.token}
			for k, v := range prod {
				env[k] = v
			}
			_, err := Load(func(k string) string { return env[k] })
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want an error naming %v", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestDevKeyEqualToGivenKeyRefused: in development a key file and a key from
// the environment may meet; the same secret in both jobs is refused too.
func TestDevKeyEqualToGivenKeyRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token.key"), []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATA_DIR": dir, "SESSION_KEYS": key}
	if _, err := Load(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "SESSION_KEYS") || !strings.Contains(err.Error(), "TOKEN_KEY") {
		t.Fatalf("SESSION_KEYS equal to data/token.key: %v", err)
	}
}

// TestMalformedDevKeyFileStopsStart: a damaged data/token.key (or
// session.key) used to be replaced by a new random key, which made every
// stored WeChat token (every session) unreadable. Now the start stops with
// an error naming the file and the variable, and the file is left as it was.
func TestMalformedDevKeyFileStopsStart(t *testing.T) {
	files := []struct{ file, variable string }{{"token.key", "TOKEN_KEY"}, {"session.key", "SESSION_KEYS"}}
	contents := []struct{ name, content string }{
		{"not hex", strings.Repeat("zz", 32) + "\n"},
		{"truncated", key[:40]},
		{"empty", ""},
		{"all zeros", zeroKey + "\n"},
		{"two keys", key + "," + key3 + "\n"},
	}
	for _, f := range files {
		for _, c := range contents {
			t.Run(f.file+"/"+c.name, func(t *testing.T) {
				dir := t.TempDir()
				path := filepath.Join(dir, f.file)
				if err := os.WriteFile(path, []byte(c.content), 0o600); err != nil {
					t.Fatal(err)
				}
				env := map[string]string{"DATA_DIR": dir}
				_, err := Load(func(k string) string { return env[k] })
				if err == nil {
					t.Fatalf("started with a malformed %s", f.file)
				}
				for _, w := range []string{f.variable, path, "malformed"} {
					if !strings.Contains(err.Error(), w) {
						t.Fatalf("error %q does not name %q", err, w)
					}
				}
				got, err := os.ReadFile(path)
				if err != nil || string(got) != c.content {
					t.Fatalf("%s was changed to %q (%v)", f.file, got, err)
				}
			})
		}
	}
}

// TestDevKeyFileCreatedOnceWithoutLeftovers: the key is created in place
// atomically (no temporary file left behind) and kept across starts.
func TestDevKeyFileCreatedOnceWithoutLeftovers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"DATA_DIR": dir}
	a, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	b, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if string(a.TokenKeys[0]) != string(b.TokenKeys[0]) || string(a.SessionKeys[0]) != string(b.SessionKeys[0]) {
		t.Fatal("development keys changed between starts")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != "session.key token.key" {
		t.Fatalf("data dir holds %v, want session.key and token.key only", names)
	}
}
