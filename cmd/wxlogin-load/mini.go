package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// Mini program mode (-mode mini): each login is the mini program's. The
// tool calls the simulator's wx.login stand-in (POST /_sim/wx/login with
// X-Sim-User) for a js_code and POSTs it to /api/miniprogram/login, then
// reads /api/me with the token. With -dup, a fraction of logins send their
// code twice — a retry, a double tap — to the next two -url (so with two
// instances, to both): the second -abort-after after the first, while the
// first still owns the exchange. Both must log the same user in; the
// duplicate's answer minus the first's is the duplicate-after-owner time.

// miniAnswer is /api/miniprogram/login's answer, as far as the tool reads it.
type miniAnswer struct {
	Token string `json:"token"`
	User  struct {
		ID int64 `json:"id"`
	} `json:"user"`
}

// api sends one JSON POST (or, with a nil body, a GET with the bearer token).
func (b *browser) api(ctx context.Context, method, rawURL string, body []byte, token string) (answer, time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return answer{}, time.Time{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range b.hdr {
		req.Header.Set(k, v)
	}
	res, err := b.client.Do(req)
	if err != nil {
		return answer{}, time.Time{}, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	at := time.Now()
	if err != nil {
		return answer{}, at, err
	}
	return answer{status: res.StatusCode, header: res.Header, body: data}, at, nil
}

// miniLogin runs one mini program login and says what it measured.
func (b *browser) miniLogin(ctx context.Context, p plan) (s sample) {
	s.Start = time.Now()
	s.Dup, s.Scope = p.dup, "mini"
	defer func() { s.Total = time.Since(s.Start) }()
	fail := func(step string, a answer, err error) sample {
		s.Reason = reason(step, a, err)
		if err == nil && a.status >= 500 {
			s.Browser5xx++
		}
		return s
	}

	// 1. wx.login: a js_code for this person.
	b.hdr = map[string]string{"X-Sim-User": p.user}
	a, _, err := b.api(ctx, http.MethodPost, b.cfg.sim.String()+"/wx/login", []byte{}, "")
	b.hdr = nil
	var wx struct{ Code string }
	if err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &wx) != nil || wx.Code == "" {
		return fail("wx.login", a, err)
	}
	s.ReachedCallback = true
	body, _ := json.Marshal(map[string]string{"code": wx.Code})

	// 2. The login: once, or twice with the same code on two instances.
	first := p.urls()
	loginURL := func(u string) string { return u + "/api/miniprogram/login" }
	start := time.Now()
	var ans miniAnswer
	if !p.dup {
		a, _, err = b.api(ctx, http.MethodPost, loginURL(first.String()), body, "")
		s.Callback = time.Since(start)
		if err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &ans) != nil || ans.Token == "" {
			return fail("mini login", a, err)
		}
	} else {
		second := p.urls()
		s.Cross = first.Host != second.Host
		type res struct {
			a   answer
			at  time.Time
			err error
		}
		ch := make(chan res, 1)
		go func() {
			a, at, err := b.api(ctx, http.MethodPost, loginURL(first.String()), body, "")
			ch <- res{a, at, err}
		}()
		pause(ctx, b.cfg.abortAfter)
		a, dupAt, err := b.api(ctx, http.MethodPost, loginURL(second.String()), body, "")
		o := <-ch
		s.Callback = dupAt.Sub(start)
		if o.err == nil && o.a.status >= 500 {
			s.Browser5xx++
		}
		var own miniAnswer
		if o.err != nil || o.a.status != http.StatusOK || json.Unmarshal(o.a.body, &own) != nil || own.Token == "" {
			return fail("mini login (first of two)", o.a, o.err)
		}
		if err != nil || a.status != http.StatusOK || json.Unmarshal(a.body, &ans) != nil || ans.Token == "" {
			return fail("mini login (duplicate)", a, err)
		}
		if ans.User.ID != own.User.ID {
			s.Reason = "mini login: the duplicate logged in another user"
			return s
		}
		// The first request owned the exchange (it was sent while the
		// duplicate was not): the duplicate's answer after its end.
		s.AfterOwner, s.HaveAfter = max(dupAt.Sub(o.at), 0), true
	}

	// 3. The token works.
	a, _, err = b.api(ctx, http.MethodGet, p.urls().String()+"/api/me", nil, ans.Token)
	if err != nil || a.status != http.StatusOK {
		return fail("api/me", a, err)
	}
	s.OK = true
	return s
}
