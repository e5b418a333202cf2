package main

import (
	"io"
	"strings"
	"testing"
)

func TestPushFlags(t *testing.T) {
	key := "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	tests := []struct {
		args    string
		wantErr string
	}{
		{"-token t", ""},
		{"-token t -aes-key " + key + " -rate 10 -d 1s", ""},
		{"", "-token"},
		{"-token t -aes-key short", "-aes-key"},
		{"-token t -rate 0", "-rate"},
		{"-token t -d 2h", "-rate"},
		{"-token t -retry 1.5", "fractions"},
		{"-token t -concurrent -1", "fractions"},
		{"-token t -url http://example.com", "loopback"},
		{"-token t -c 0", "-c"},
	}
	for _, tt := range tests {
		t.Setenv("WECHAT_TOKEN", "")
		t.Setenv("WECHAT_AES_KEY", "")
		_, err := parsePushFlags(strings.Fields(tt.args), io.Discard)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("%q: %v, want %q", tt.args, err, tt.wantErr)
		}
	}
}
