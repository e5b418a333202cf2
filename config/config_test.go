package config

import (
	"strings"
	"testing"
)

const (
	key      = "0101010101010101010101010101010101010101010101010101010101010101"
	tokenKey = "0202020202020202020202020202020202020202020202020202020202020202"
)

func TestLoadValidation(t *testing.T) {
	prod := map[string]string{"WECHAT_APPID": "wx123", "WECHAT_SECRET": "s", "SESSION_KEYS": key, "TOKEN_KEY": tokenKey}
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // substring naming the variable; "" = ok
	}{
		{"production ok", prod, ""},
		{"production without SESSION_KEYS", with(prod, "SESSION_KEYS", ""), "SESSION_KEYS"},
		{"production without TOKEN_KEY", with(prod, "TOKEN_KEY", ""), "TOKEN_KEY"},
		{"production without secret", with(prod, "WECHAT_SECRET", ""), "WECHAT_SECRET"},
		{"malformed DATABASE_URL", with(prod, "DATABASE_URL", "postgres://"), "DATABASE_URL"},
		{"unknown DATABASE_URL scheme", with(prod, "DATABASE_URL", "mysql://x/y"), "DATABASE_URL"},
		{"short session key", with(prod, "SESSION_KEYS", "abcd"), "SESSION_KEYS"},
		{"second session key bad", with(prod, "SESSION_KEYS", key+",zz"), "SESSION_KEYS"},
		{"bad BASE_URL", with(prod, "BASE_URL", "ftp://x"), "BASE_URL"},
		{"bad scope", with(prod, "WECHAT_SCOPE", "snsapi_login"), "WECHAT_SCOPE"},
		{"blank site name", with(prod, "SITE_NAME", "  "), "SITE_NAME"},
		{"site name with a newline", with(prod, "SITE_NAME", "a\nb"), "SITE_NAME"},
		{"bad lease", with(prod, "EXCHANGE_LEASE", "-1s"), "EXCHANGE_LEASE"},
		{"postgres URL ok", with(prod, "DATABASE_URL", "postgres://u:p@db:5432/wx"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(func(k string) string { return tt.env[k] })
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
			}
		})
	}
}

func TestDevModeGeneratesAndKeepsSecrets(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir}
	a, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !a.Simulator || len(a.SessionKeys) != 1 || len(a.TokenKeys) != 1 {
		t.Fatalf("dev mode: simulator %v, %d session keys, %d token keys", a.Simulator, len(a.SessionKeys), len(a.TokenKeys))
	}
	b, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if string(a.SessionKeys[0]) != string(b.SessionKeys[0]) || string(a.TokenKeys[0]) != string(b.TokenKeys[0]) {
		t.Fatal("development keys changed between starts: sessions would not survive a restart")
	}
	if a.RedirectURI() != "http://localhost:8080/wechat/callback" {
		t.Fatalf("redirect URI %q", a.RedirectURI())
	}
}

func TestMPVerifyTokens(t *testing.T) {
	env := map[string]string{"DATA_DIR": t.TempDir(), "WECHAT_MP_VERIFY": "MP_verify_AbC123.txt, xyz9"}
	c, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(c.MPVerify) != 2 || c.MPVerify[0] != "AbC123" || c.MPVerify[1] != "xyz9" {
		t.Fatalf("tokens %q", c.MPVerify)
	}
	env["WECHAT_MP_VERIFY"] = "../etc/passwd"
	if _, err := Load(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "WECHAT_MP_VERIFY") {
		t.Fatalf("bad token accepted: %v", err)
	}
}

// TestDefaultScopeIsAutoAndSiteName: with nothing set a login is silent
// (WECHAT_SCOPE=auto), and SITE_NAME defaults to wxlogin and is kept as set.
func TestDefaultScopeIsAutoAndSiteName(t *testing.T) {
	env := map[string]string{"WECHAT_APPID": "wx123", "WECHAT_SECRET": "s", "SESSION_KEYS": key, "TOKEN_KEY": tokenKey}
	c, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.WeChatScope != "auto" || c.SiteName != "wxlogin" {
		t.Fatalf("defaults: scope %q site %q", c.WeChatScope, c.SiteName)
	}
	env["SITE_NAME"], env["WECHAT_SCOPE"] = "小店 服务号", "snsapi_base"
	if c, err = Load(func(k string) string { return env[k] }); err != nil || c.SiteName != "小店 服务号" || c.WeChatScope != "snsapi_base" {
		t.Fatalf("set: %+v %v", c, err)
	}
}
