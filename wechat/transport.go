package wechat

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxBody bounds what is read of any answer: WeChat's bodies are a few
// hundred bytes, so anything near this is not WeChat talking.
const maxBody = 1 << 20

// param is one query parameter; a slice keeps WeChat's documented order.
type param struct {
	key, value string
	sensitive  bool // scrubbed from any error text
}

// endpoint is one WeChat API: its name (for errors and Observe), its path,
// and whether net/http may re-send it.
type endpoint struct {
	name, path string
	// replayable is true only for calls that carry no single-use value. The
	// others (a code, a js_code) are sent in a form net/http never re-sends
	// on its own; see oneShotBody.
	replayable bool
}

// oneShotBody is the request body of a call that must reach WeChat at most
// once. net/http's Transport silently re-sends a request on a new
// connection when a kept-alive connection dies after the request was
// written and before the answer (the server closed it, reset it, or died),
// but only if the request is replayable: an idempotent method (GET counts)
// with a nil or http.NoBody body, or a GetBody to rewind it (the Transport
// documentation; Request.isReplayable and the HTTP/2 shouldRetryRequest).
// That is exactly the case where WeChat may have read the code and used it,
// so the re-send can only earn 40163 and hide the real answer (issue 19).
//
// A non-nil body that is not http.NoBody and has no GetBody makes the GET
// non-replayable; it is empty, so nothing is sent for it. TransferEncoding
// "identity" (documented on Request.Write) keeps HTTP/1.1 from probing the
// body and from falling back to "Transfer-Encoding: chunked" when the probe
// is slow: the bytes on the wire are those of the bodiless GET, without a
// Content-Length or Transfer-Encoding header (TestCodeCallsAreNeverReplayed
// checks it). HTTP/2 ignores the field and ends the stream with an empty
// DATA frame. Connections stay kept-alive for these calls too; the price is
// that a rare stale pooled connection fails the call as "unavailable"
// instead of being retried, which the caller handles like any unknown
// outcome.
type oneShotBody struct{}

func (oneShotBody) Read([]byte) (int, error) { return 0, io.EOF }
func (oneShotBody) Close() error             { return nil }

// WriteTo writes nothing. net/http copies a body of unknown length with
// io.CopyBuffer, which prefers the body's WriteTo; without it the copy
// goes through the connection's ReadFrom, and net.TCPConn's generic
// ReadFrom allocates a 32 KiB buffer to copy these zero bytes: a third of
// all the bytes wxlogin allocated per login (docs/BENCHMARKS.md, "Third
// round"; TestOneShotBodyAllocatesNothing).
func (oneShotBody) WriteTo(io.Writer) (int64, error) { return 0, nil }

// call makes one attempt and reports it to Observe: the client's own
// retries (UserInfo) are further calls, and net/http's silent re-send is
// ruled out unless the endpoint is replayable. It first passes the breaker
// and the concurrency limiter; a call refused by either never reaches
// WeChat and does not count as a WeChat failure.
func (c *Client) call(ctx context.Context, ep endpoint, params []param, out any) error {
	return c.send(ctx, ep, params, nil, nil, out)
}

// send is call with an optional JSON body: a non-nil body makes the
// request a POST. secrets are values inside the body (the app secret) to
// scrub from any error text, like sensitive parameters.
func (c *Client) send(ctx context.Context, ep endpoint, params []param, body []byte, secrets []string, out any) error {
	if !c.breaker.allow() {
		err := &UnavailableError{Endpoint: ep.name, Err: ErrBreakerOpen}
		if c.cfg.Observe != nil {
			c.cfg.Observe(ep.name, ErrCodeUnavailable, 0)
		}
		return err
	}
	queued := time.Now()
	if err := c.limiter.acquire(ctx); err != nil {
		if c.cfg.Observe != nil {
			c.cfg.Observe(ep.name, ErrCodeOverloaded, time.Since(queued))
		}
		return &UnavailableError{Endpoint: ep.name, Timeout: errors.Is(err, context.DeadlineExceeded), Err: err}
	}
	start := time.Now()
	err := c.attempt(ctx, ep, params, body, secrets, out)
	c.limiter.release()
	c.breaker.record(err)
	if c.cfg.Observe != nil {
		c.cfg.Observe(ep.name, observedCode(err), time.Since(start))
	}
	return err
}

func observedCode(err error) int {
	if err == nil {
		return 0
	}
	if code, ok := ErrCode(err); ok {
		return code
	}
	return ErrCodeUnavailable
}

// attempt performs one GET under its own deadline and decodes the answer
// into out (nil: only the errcode matters). Every error it returns is free
// of the request URL and of the sensitive parameter values.
func (c *Client) attempt(ctx context.Context, ep endpoint, params []param, body []byte, secrets []string, out any) error {
	endpoint := ep.name
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()

	sensitive := make([]string, 0, 2+len(secrets))
	for _, v := range secrets {
		if v != "" {
			sensitive = append(sensitive, v)
		}
	}
	var q strings.Builder
	for i, p := range params {
		if i > 0 {
			q.WriteByte('&')
		}
		q.WriteString(url.QueryEscape(p.key))
		q.WriteByte('=')
		q.WriteString(url.QueryEscape(p.value))
		if p.sensitive && p.value != "" {
			sensitive = append(sensitive, p.value, url.QueryEscape(p.value))
		}
	}
	target := c.cfg.APIURL + ep.path
	if q.Len() > 0 {
		target += "?" + q.String()
	}
	method, reqBody := http.MethodGet, io.Reader(nil)
	if body != nil {
		method, reqBody = http.MethodPost, bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, reqBody)
	if err != nil {
		// The parse error would quote the URL, secret included.
		return &UnavailableError{Endpoint: endpoint, Err: errors.New("invalid API URL")}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		if !ep.replayable {
			// A POST is never re-sent by net/http without GetBody.
			req.GetBody = nil
		}
	} else if !ep.replayable {
		req.Body, req.GetBody, req.ContentLength = oneShotBody{}, nil, 0
		req.TransferEncoding = []string{"identity"}
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		return transportError(endpoint, err, sensitive)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return &UnavailableError{Endpoint: endpoint, Status: resp.StatusCode}
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return transportError(endpoint, err, sensitive)
	}
	if len(answer) > maxBody {
		return &UnavailableError{Endpoint: endpoint, Status: resp.StatusCode, Err: errBodyTooLarge}
	}
	err = decodeBody(endpoint, answer, out)
	var ae *APIError
	if errors.As(err, &ae) {
		ae.Msg = scrub(ae.Msg, sensitive)
	}
	return err
}

// transportError turns a net/http failure into an UnavailableError. The
// *url.Error that net/http returns embeds the full request URL (with the
// secret and the code), so only its inner cause is kept, and that cause's
// text is scrubbed as well.
func transportError(endpoint string, err error, sensitive []string) error {
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) {
		inner = ue.Err
	}
	var ne net.Error
	timeout := errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
	return &UnavailableError{
		Endpoint: endpoint,
		Timeout:  timeout,
		Err:      &scrubbedError{msg: scrub(inner.Error(), sensitive), err: inner},
	}
}

// scrubbedError keeps an error's identity for errors.Is/As while its text
// has the sensitive values removed.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

func scrub(s string, sensitive []string) string {
	for _, v := range sensitive {
		if v != "" {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}
