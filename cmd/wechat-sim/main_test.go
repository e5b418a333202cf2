package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestEnvSecret(t *testing.T) {
	t.Setenv("WECHAT_SECRET", "")
	t.Setenv("WECHAT_SECRET_FILE", "")
	if v, err := envSecret("WECHAT_SECRET"); v != "" || err != nil {
		t.Fatalf("unset: %q %v", v, err)
	}
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WECHAT_SECRET_FILE", path)
	if v, err := envSecret("WECHAT_SECRET"); v != "from-file" || err != nil {
		t.Fatalf("file: %q %v", v, err)
	}
	t.Setenv("WECHAT_SECRET", "from-env")
	if v, _ := envSecret("WECHAT_SECRET"); v != "from-env" {
		t.Fatalf("env should win: %q", v)
	}
	t.Setenv("WECHAT_SECRET", "")
	t.Setenv("WECHAT_SECRET_FILE", filepath.Join(t.TempDir(), "missing"))
	if _, err := envSecret("WECHAT_SECRET"); err == nil {
		t.Fatal("missing file accepted")
	}
}

func TestEnvOr(t *testing.T) {
	t.Setenv("SIM_TEST_VAR", "")
	if envOr("SIM_TEST_VAR", "d") != "d" {
		t.Fatal("default")
	}
	t.Setenv("SIM_TEST_VAR", "v")
	if envOr("SIM_TEST_VAR", "d") != "v" {
		t.Fatal("value")
	}
}
