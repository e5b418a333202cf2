package qrlogin

import (
	"fmt"
	"testing"
	"time"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestLimiterBurstAndRefill(t *testing.T) {
	c := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := NewLimiter(2, 10, 100, c.now)
	allowed := 0
	for range 50 {
		if l.Allow("a") {
			allowed++
		}
	}
	if allowed != 10 {
		t.Fatalf("50 at once: %d allowed, want the burst of 10", allowed)
	}
	if !l.Allow("b") {
		t.Fatal("another key was limited by a's flood")
	}
	c.t = c.t.Add(time.Second)
	allowed = 0
	for range 50 {
		if l.Allow("a") {
			allowed++
		}
	}
	if allowed != 2 {
		t.Fatalf("after a second: %d allowed, want 2", allowed)
	}
}

// However many keys arrive, the limiter holds at most max of them.
func TestLimiterMemoryIsBounded(t *testing.T) {
	c := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := NewLimiter(2, 10, 1000, c.now)
	for i := range 50_000 {
		l.Allow(fmt.Sprintf("client-%d", i))
		if i%1000 == 0 {
			c.t = c.t.Add(100 * time.Millisecond)
		}
		if l.Len() > 1000 {
			t.Fatalf("%d keys held, max 1000", l.Len())
		}
	}
}

func TestDescribe(t *testing.T) {
	for _, tc := range []struct{ ua, browser, os string }{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome 120", "Windows"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91", "Edge 120", "Windows"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15", "Safari 17", "macOS"},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox 121", "Linux"},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/131.0.0.0 Safari/537.36", "Chrome 131", "Linux"},
		{"curl/8.0", "未知浏览器", "未知系统"},
		{"", "未知浏览器", "未知系统"},
		{"<script>alert(1)</script> Chrome/<b>", "Chrome", "未知系统"},
		{"Chrome/99999999999999", "Chrome 9999", "未知系统"},
	} {
		got := Describe(tc.ua)
		if got.Browser != tc.browser || got.OS != tc.os {
			t.Errorf("Describe(%q) = %+v, want %s / %s", tc.ua, got, tc.browser, tc.os)
		}
	}
}

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		t  string
		ok bool
	}{
		{"abcdefghijklmnopqrstuvwxyzABCD-_", true},
		{"abcdefghijklmnopqrstuvwxyzABCD-", false},
		{"abcdefghijklmnopqrstuvwxyzABCD-_A", false},
		{"abcdefghijklmnopqrstuvwxyzABCD+/", false},
		{"abcdefghijklmnopqrstuvwxyzABCD=\x00", false},
		{"", false},
	} {
		if got := Valid(tc.t); got != tc.ok {
			t.Errorf("Valid(%q) = %v", tc.t, got)
		}
	}
}
