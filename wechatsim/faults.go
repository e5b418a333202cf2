package wechatsim

import (
	"context"
	"time"
)

// Fault is a failure injected into one /sns endpoint, to reproduce what
// real WeChat does only on bad days.
//
// A fault replaces processing: a faulted exchange still counts in
// ExchangeCount, but the code stays unused (WeChat never saw it), unless
// ConsumeCode is set, which models "WeChat consumed the code but the answer
// was lost". Only Delay alone (or HTTPStatus 200) lets the call be processed
// normally, after the delay. When several are set, Hang wins over
// HTTPStatus, HTTPStatus over BadJSON, BadJSON over ErrCode.
type Fault struct {
	ErrCode    int           // answer HTTP 200 {"errcode":ErrCode,...}, e.g. -1
	HTTPStatus int           // answer this status with an HTML body, e.g. 502
	Hang       bool          // never answer until the request's context ends
	BadJSON    bool          // answer HTTP 200 with truncated JSON
	Count      int           // number of calls it applies to; 0 = all until cleared
	Delay      time.Duration // wait this long first (respecting the request context)
	// ConsumeCode (access_token, jscode2session) processes the call, using up
	// the code, and then answers with the fault instead of the result.
	ConsumeCode bool
}

// faultState is a Fault plus its remaining uses.
type faultState struct {
	Fault
	left int // 0 = unlimited
}

// Endpoint names accepted by SetFault.
const (
	epAccessToken    = "access_token"
	epRefreshToken   = "refresh_token"
	epAuth           = "auth"
	epUserInfo       = "userinfo"
	epJSCode2Session = "jscode2session"
)

func validEndpoint(e string) bool {
	switch e {
	case epAccessToken, epRefreshToken, epAuth, epUserInfo, epJSCode2Session,
		epStableToken, epCgiToken, epMenuCreate, epMenuGet, epMenuDelete:
		return true
	}
	return false
}

// SetFault injects f into endpoint ("access_token", "refresh_token", "auth",
// "userinfo", "jscode2session"), replacing any fault there. Unknown endpoint
// names are ignored.
func (s *Sim) SetFault(endpoint string, f Fault) {
	if !validEndpoint(endpoint) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[endpoint] = &faultState{Fault: f, left: max(f.Count, 0)}
}

// ClearFaults removes all faults.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// SetLatency adds d to every /sns call. A caller that gives up meanwhile
// gets no answer and its call is not processed.
func (s *Sim) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = max(d, 0)
}

func (s *Sim) currentLatency() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.latency
}

// takeFault returns the fault for endpoint, using up one of its calls.
func (s *Sim) takeFault(endpoint string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fs, ok := s.faults[endpoint]
	if !ok {
		return Fault{}, false
	}
	if fs.left > 0 {
		fs.left--
		if fs.left == 0 {
			delete(s.faults, endpoint)
		}
	}
	return fs.Fault, true
}

// replaces reports whether f answers instead of the normal processing.
func (f Fault) replaces() bool {
	return f.Hang || (f.HTTPStatus != 0 && f.HTTPStatus != 200) || f.BadJSON || f.ErrCode != 0
}

// maxHang bounds a Hang so a client that never gives up cannot pin a
// goroutine forever.
const maxHang = 10 * time.Minute

// wait sleeps d or until ctx ends; it reports whether d fully elapsed.
func wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
