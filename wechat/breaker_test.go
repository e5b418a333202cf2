package wechat

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestBreakerOpensAfterConsecutiveFailuresAndRecovers(t *testing.T) {
	var calls atomic.Int32
	var healthy atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if !healthy.Load() {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
	}))
	defer srv.Close()
	now := time.Unix(1_700_000_000, 0)
	c := New(Config{AppID: "wx1", Secret: "s", APIURL: srv.URL, BreakerThreshold: 3, BreakerCooldown: time.Minute})
	c.breaker.now = func() time.Time { return now }

	for i := range 3 {
		if err := c.CheckToken(t.Context(), "tok", "oid"); !IsTemporary(err) {
			t.Fatalf("call %d: want a temporary error, got %v", i, err)
		}
	}
	err := c.CheckToken(t.Context(), "tok", "oid")
	if !errors.Is(err, ErrBreakerOpen) || calls.Load() != 3 {
		t.Fatalf("4th call: err %v after %d calls; want an open circuit without calling WeChat", err, calls.Load())
	}
	healthy.Store(true)
	now = now.Add(time.Minute) // cooldown over: the next call is a probe
	if err := c.CheckToken(t.Context(), "tok", "oid"); err != nil {
		t.Fatalf("probe after cooldown: %v", err)
	}
	if err := c.CheckToken(t.Context(), "tok", "oid"); err != nil || calls.Load() != 5 {
		t.Fatalf("after recovery: %v, %d calls", err, calls.Load())
	}
}

func TestBreakerIgnoresErrcodesAboutTheRequest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"errcode":40029,"errmsg":"invalid code, rid: 1"}`))
	}))
	defer srv.Close()
	c := New(Config{AppID: "wx1", Secret: "s", APIURL: srv.URL, BreakerThreshold: 2})
	for i := range 5 {
		if _, err := c.ExchangeCode(t.Context(), "code"); errors.Is(err, ErrBreakerOpen) {
			t.Fatalf("call %d: breaker opened on 40029, which says nothing about WeChat's health", i)
		}
	}
}
