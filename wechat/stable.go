package wechat

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
)

// The Official Account's basic access_token (wechat-api.md §7). Only
// cgi-bin/stable_token is ever called: cgi-bin/token issues a new token on
// every call and kills the previous one five minutes later, so two servers
// (or a test environment and production) that each call it knock each other
// out with 40001.
var (
	// Normal mode returns the same token while it is valid: re-sending it
	// changes nothing.
	epStableToken = endpoint{name: "stable_token", path: "/cgi-bin/stable_token", replayable: true}
	// force_refresh kills the current token at once and is limited to 20 a
	// day, 30 s apart: one call must be at most one sending.
	epStableTokenForce = endpoint{name: "stable_token_force", path: "/cgi-bin/stable_token"}
)

// AccessToken is the answer of cgi-bin/stable_token.
type AccessToken struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

func (t *AccessToken) complete() bool { return t.AccessToken != "" && t.ExpiresIn > 0 }

// String hides the token so an AccessToken printed with %v leaks nothing.
func (t AccessToken) String() string {
	return fmt.Sprintf("AccessToken{expires_in=%d access_token=%s}", t.ExpiresIn, redacted(t.AccessToken))
}

// LogValue hides the token when an AccessToken is passed to log/slog.
func (t AccessToken) LogValue() slog.Value {
	return slog.GroupValue(slog.Int("expires_in", t.ExpiresIn))
}

// StableToken asks cgi-bin/stable_token for the account's access token. In
// normal mode (force false) WeChat returns the token that is valid now (the
// same one until about five minutes before expiry, when a new one overlaps
// the old for five minutes) — including one another server forced. With
// force true WeChat issues a new token and the old one dies at once; that
// mode is limited to 20 calls a day, at least 30 s apart, and is sent at
// most once per call. Errors: 40125 (bad secret), 40164 (this server's IP
// is not whitelisted), 45009 (quota), 45011 (forced too often).
func (c *Client) StableToken(ctx context.Context, force bool) (*AccessToken, error) {
	body, err := json.Marshal(struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}{"client_credential", c.cfg.AppID, c.cfg.Secret, force})
	if err != nil {
		return nil, err
	}
	ep := epStableToken
	if force {
		ep = epStableTokenForce
	}
	var t AccessToken
	if err := c.send(ctx, ep, nil, body, []string{c.cfg.Secret}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}
