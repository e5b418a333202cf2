package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// The aborted first callback.
//
// Android WeChat loads the callback URL twice and aborts the first load. The
// server sees the first request's connection end: Go's http.Server cancels
// the request context when a read on the connection returns EOF. wxlogin's
// exchange carries on detached from that context, and the duplicate is
// answered with its result.
//
// To measure how long after the owner the duplicate is answered, the load
// tool needs to know when the aborted request's work ended — which a real
// abort hides. So it aborts with a half-close: it writes the request on a
// connection of its own, and -abort-after later shuts down its sending side
// (TCP FIN). The server reads EOF and cancels the context exactly as for a
// closed connection, while the tool can still read whatever the server
// writes when the handler returns (wxlogin writes nothing; Gin then sends an
// empty 200). That moment is the end of the owner's exchange. Cookies set on
// that answer are dropped, as the real browser drops them.

// abortedRequest is a first callback in flight on its own connection.
type abortedRequest struct {
	done chan ownerEnd
}

// ownerEnd is when and how the aborted request's handler finished.
type ownerEnd struct {
	ended  bool // the server answered or closed; at is meaningful
	at     time.Time
	status int // 0 if the server closed without an answer
}

// sendAborted sends GET target with this browser's cookies, aborts it after
// cfg.abortAfter and returns at once; wait reports when the server ended it.
func (b *browser) sendAborted(ctx context.Context, target *url.URL) (*abortedRequest, error) {
	dctx, cancel := context.WithTimeout(ctx, b.cfg.timeout)
	defer cancel()
	conn, err := b.dialer.DialContext(dctx, "tcp", hostPort(target))
	if err != nil {
		return nil, err
	}
	if target.Scheme == "https" {
		// A TLS close_notify ends the server's reads with EOF just the same.
		tc := tls.Client(conn, &tls.Config{ServerName: target.Hostname(), MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(dctx); err != nil {
			conn.Close()
			return nil, err
		}
		conn = tc
	}
	req, err := http.NewRequest(http.MethodGet, target.String(), nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	req.Header.Set("User-Agent", androidUA)
	for _, c := range b.jar.Cookies(target) {
		req.AddCookie(c)
	}
	_ = conn.SetDeadline(time.Now().Add(b.cfg.timeout))
	if err := req.Write(conn); err != nil {
		conn.Close()
		return nil, err
	}
	ar := &abortedRequest{done: make(chan ownerEnd, 1)}
	go func() {
		defer conn.Close()
		res, err := http.ReadResponse(bufio.NewReader(conn), req)
		end := ownerEnd{ended: true, at: time.Now()}
		if err == nil {
			end.status = res.StatusCode
			_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxBody))
			res.Body.Close()
		} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
			end.ended = false
		}
		ar.done <- end
	}()
	t := time.NewTimer(b.cfg.abortAfter)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
	}
	if hc, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
	} else {
		_ = conn.Close()
	}
	return ar, nil
}

// wait returns how the aborted request ended, waiting at most d.
func (ar *abortedRequest) wait(d time.Duration) ownerEnd {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case e := <-ar.done:
		return e
	case <-t.C:
		return ownerEnd{}
	}
}

func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	if u.Scheme == "https" {
		return net.JoinHostPort(u.Hostname(), "443")
	}
	return net.JoinHostPort(u.Hostname(), "80")
}
