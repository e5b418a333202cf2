package config

import (
	"strings"
	"testing"
)

func TestPushSettings(t *testing.T) {
	prod := map[string]string{"WECHAT_APPID": "wx123", "WECHAT_SECRET": "s", "SESSION_KEYS": key, "TOKEN_KEY": tokenKey}
	aes := "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	tests := []struct {
		name, token, aes, wantErr string
	}{
		{"none", "", "", ""},
		{"token only", "tok123", "", ""},
		{"token and key", "tok123", aes, ""},
		{"token too short", "ab", "", "WECHAT_TOKEN"},
		{"token too long", strings.Repeat("a", 33), "", "WECHAT_TOKEN"},
		{"token not alnum", "tok-123", "", "WECHAT_TOKEN"},
		{"key without token", "", aes, "WECHAT_AES_KEY"},
		{"key 42 chars", "tok123", aes[:42], "WECHAT_AES_KEY"},
		{"key not base64", "tok123", strings.Repeat("*", 43), "WECHAT_AES_KEY"},
	}
	for _, tt := range tests {
		env := map[string]string{"WECHAT_TOKEN": tt.token, "WECHAT_AES_KEY": tt.aes}
		for k, v := range prod {
			env[k] = v
		}
		c, err := Load(func(k string) string { return env[k] })
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: %v, want an error naming %s", tt.name, err, tt.wantErr)
			}
			if err != nil && (strings.Contains(err.Error(), tt.aes) && tt.aes != "" || strings.Contains(err.Error(), tt.token) && len(tt.token) > 3) {
				t.Errorf("%s: the error repeats the secret: %v", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if c.PushToken != tt.token || c.PushAESKey != tt.aes || c.PushGenerated {
			t.Errorf("%s: got %q %q generated=%v", tt.name, c.PushToken, c.PushAESKey, c.PushGenerated)
		}
	}
	// Simulator mode: generated, so `make run` receives pushes out of the box.
	c, err := Load(func(k string) string { return map[string]string{"DATA_DIR": t.TempDir()}[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !c.PushGenerated || len(c.PushToken) != 32 || checkPushSecrets(c.PushToken, c.PushAESKey) != nil || c.PushAESKey == "" {
		t.Errorf("simulator mode: token %d chars, key valid=%v", len(c.PushToken), checkPushSecrets(c.PushToken, c.PushAESKey))
	}
}
