package wechatsim_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wxlogin/wechatsim"
)

// receiver is a stand-in for the app's /wechat/notify: it checks the
// signature (its own sha1, independent of the simulator's) and answers what
// answer says for the n-th delivery.
type receiver struct {
	t      *testing.T
	n      atomic.Int32
	answer func(n int32, w http.ResponseWriter, r *http.Request)
	mu     sync.Mutex
	bodies []string
	nonces map[string]bool
}

func newReceiver(t *testing.T, answer func(n int32, w http.ResponseWriter, r *http.Request)) (*receiver, *httptest.Server) {
	rc := &receiver{t: t, answer: answer, nonces: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		parts := []string{"tok123", q.Get("timestamp"), q.Get("nonce")}
		sort.Strings(parts)
		sum := sha1.Sum([]byte(strings.Join(parts, "")))
		if q.Get("signature") != hex.EncodeToString(sum[:]) || r.Method != http.MethodPost {
			t.Errorf("push not signed with the Token: %s %s", r.Method, r.URL.RawQuery)
		}
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, string(b))
		rc.nonces[q.Get("nonce")] = true
		rc.mu.Unlock()
		rc.answer(rc.n.Add(1), w, r)
	}))
	t.Cleanup(srv.Close)
	return rc, srv
}

func TestPushRetries(t *testing.T) {
	tests := []struct {
		name          string
		answer        func(n int32, w http.ResponseWriter, r *http.Request)
		wantAttempts  int
		wantDelivered bool
	}{
		{"success at once", func(int32, http.ResponseWriter, *http.Request) {}, 1, true}, // empty 200 counts
		{"success body", func(_ int32, w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("success")) }, 1, true},
		{"slow, then fine", func(n int32, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				<-r.Context().Done() // no answer within the timeout
				return
			}
			_, _ = w.Write([]byte("success"))
		}, 2, true},
		{"503 twice", func(n int32, w http.ResponseWriter, _ *http.Request) {
			if n <= 2 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte("success"))
		}, 3, true},
		{"always failing: 3 retries, then given up", func(_ int32, w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
		}, 4, false},
		{"a non-success body is a failure", func(_ int32, w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }, 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, srv := newReceiver(t, tt.answer)
			sim := wechatsim.New(wechatsim.Options{})
			sim.ConfigurePush(wechatsim.PushConfig{URLs: []string{srv.URL + "/wechat/notify"}, Token: "tok123", Timeout: 200 * time.Millisecond})
			res, err := sim.Push(context.Background(), wechatsim.PushEvent{OpenID: "o1", Event: "subscribe"})
			if err != nil || res.Delivered != tt.wantDelivered || len(res.Attempts) != tt.wantAttempts {
				t.Fatalf("%+v %v; want %d attempts, delivered %v", res, err, tt.wantAttempts, tt.wantDelivered)
			}
			rc.mu.Lock()
			defer rc.mu.Unlock()
			for _, b := range rc.bodies {
				if b != rc.bodies[0] {
					t.Errorf("a retry carries another body:\n%s\n%s", b, rc.bodies[0])
				}
			}
			if len(rc.nonces) != len(rc.bodies) {
				t.Errorf("%d nonces for %d deliveries: each attempt is signed afresh", len(rc.nonces), len(rc.bodies))
			}
		})
	}
}

func TestPushDuplicateToTwoURLs(t *testing.T) {
	var arrived sync.WaitGroup
	arrived.Add(2)
	both := make(chan struct{})
	answer := func(_ int32, w http.ResponseWriter, _ *http.Request) {
		arrived.Done()
		<-both // each waits for the other: they are in flight at once
		_, _ = w.Write([]byte("success"))
	}
	_, a := newReceiver(t, answer)
	_, b := newReceiver(t, answer)
	go func() { arrived.Wait(); close(both) }()
	sim := wechatsim.New(wechatsim.Options{})
	sim.ConfigurePush(wechatsim.PushConfig{URLs: []string{a.URL, b.URL}, Duplicate: true, Token: "tok123", Timeout: 10 * time.Second})
	res, err := sim.Push(context.Background(), wechatsim.PushEvent{OpenID: "o1", Event: "VIEW", EventKey: "https://x/", MenuID: "1"})
	if err != nil || !res.Delivered || len(res.Attempts) != 2 || res.Attempts[0].URL == res.Attempts[1].URL {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestPushSafeModeEnvelope(t *testing.T) {
	var query string
	_, srv := newReceiver(t, func(_ int32, w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		_, _ = w.Write([]byte("success"))
	})
	sim := wechatsim.New(wechatsim.Options{})
	sim.ConfigurePush(wechatsim.PushConfig{URLs: []string{srv.URL}, Token: "tok123", AESKey: "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", Mode: wechatsim.PushSafe})
	if res, err := sim.Push(context.Background(), wechatsim.PushEvent{OpenID: "o1", Event: "subscribe"}); err != nil || !res.Delivered {
		t.Fatalf("%+v %v", res, err)
	}
	q, _ := url.ParseQuery(query)
	if q.Get("encrypt_type") != "aes" || len(q.Get("msg_signature")) != 40 {
		t.Errorf("safe mode query: %s", query)
	}
}

func TestPushOff(t *testing.T) {
	if _, err := wechatsim.New(wechatsim.Options{}).Push(context.Background(), wechatsim.PushEvent{OpenID: "o"}); err != wechatsim.ErrPushOff {
		t.Errorf("unconfigured push: %v", err)
	}
}
