package wechat

import (
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

// call makes one HTTP attempt and reports it to Observe.
func (c *Client) call(ctx context.Context, endpoint, path string, params []param, out any) error {
	if !c.breaker.allow() {
		err := &UnavailableError{Endpoint: endpoint, Err: ErrBreakerOpen}
		if c.cfg.Observe != nil {
			c.cfg.Observe(endpoint, ErrCodeUnavailable, 0)
		}
		return err
	}
	start := time.Now()
	err := c.attempt(ctx, endpoint, path, params, out)
	c.breaker.record(err)
	if c.cfg.Observe != nil {
		c.cfg.Observe(endpoint, observedCode(err), time.Since(start))
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
func (c *Client) attempt(ctx context.Context, endpoint, path string, params []param, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()

	sensitive := make([]string, 0, 2)
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.APIURL+path+"?"+q.String(), nil)
	if err != nil {
		// The parse error would quote the URL, secret included.
		return &UnavailableError{Endpoint: endpoint, Err: errors.New("invalid API URL")}
	}
	req.Header.Set("Accept", "application/json")

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
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return transportError(endpoint, err, sensitive)
	}
	if len(body) > maxBody {
		return &UnavailableError{Endpoint: endpoint, Status: resp.StatusCode, Err: errBodyTooLarge}
	}
	err = decodeBody(endpoint, body, out)
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
