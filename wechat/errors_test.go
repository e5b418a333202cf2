package wechat_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"wxlogin/wechat"
)

func TestErrorHelpers(t *testing.T) {
	api := func(code int) error {
		return fmt.Errorf("login: %w", &wechat.APIError{Endpoint: "access_token", Code: code})
	}
	unavail := fmt.Errorf("login: %w", &wechat.UnavailableError{Endpoint: "userinfo", Status: 502})
	tests := []struct {
		name          string
		err           error
		code          int
		hasCode       bool
		rejected, tmp bool
	}{
		{"nil", nil, 0, false, false, false},
		{"plain", errors.New("x"), 0, false, false, false},
		{"invalid code", api(40029), 40029, true, true, false},
		{"code used", api(40163), 40163, true, true, false},
		{"code expired", api(42003), 42003, true, true, false},
		{"busy", api(-1), -1, true, false, true},
		{"unauthorized", api(48001), 48001, true, false, false},
		{"invalid secret", api(40125), 40125, true, false, false},
		{"unavailable", unavail, 0, false, false, true},
		{"canceled", context.Canceled, 0, false, false, false},
		{"mini rate limited", api(45011), 45011, true, false, false},
		{"mini high risk", api(40226), 40226, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, ok := wechat.ErrCode(tt.err)
			if code != tt.code || ok != tt.hasCode {
				t.Fatalf("ErrCode = %d, %v", code, ok)
			}
			if got := wechat.IsCodeRejected(tt.err); got != tt.rejected {
				t.Fatalf("IsCodeRejected = %v", got)
			}
			if got := wechat.IsTemporary(tt.err); got != tt.tmp {
				t.Fatalf("IsTemporary = %v", got)
			}
			if got := wechat.IsRateLimited(tt.err); got != (tt.code == 45011) {
				t.Fatalf("IsRateLimited = %v", got)
			}
		})
	}
}

func TestErrorTexts(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&wechat.APIError{Endpoint: "access_token", Code: 40163, Msg: "code been used, rid: 1"}, "wechat access_token: errcode 40163: code been used, rid: 1"},
		{&wechat.APIError{Endpoint: "auth", Code: 42001}, "wechat auth: errcode 42001"},
		{&wechat.UnavailableError{Endpoint: "userinfo", Timeout: true, Err: context.DeadlineExceeded}, "wechat userinfo: timeout"},
		{&wechat.UnavailableError{Endpoint: "userinfo", Status: 502}, "wechat userinfo: http status 502"},
		{&wechat.UnavailableError{Endpoint: "access_token", Err: errors.New("dial tcp: refused")}, "wechat access_token: network error"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	ue := &wechat.UnavailableError{Endpoint: "userinfo", Timeout: true, Err: context.DeadlineExceeded}
	if !errors.Is(ue, context.DeadlineExceeded) {
		t.Error("UnavailableError does not unwrap to its cause")
	}
}

func TestDescribe(t *testing.T) {
	tests := map[int]string{
		40163: "code 已被使用",
		40029: "code 无效",
		42003: "code 已过期",
		-1:    "繁忙",
		48001: "未授权",
		-2:    "不可用",
		12345: "未知错误码 12345",
	}
	for code, want := range tests {
		if got := wechat.Describe(code); !strings.Contains(got, want) {
			t.Errorf("Describe(%d) = %q, want it to contain %q", code, got, want)
		}
	}
}
