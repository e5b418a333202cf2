package wechat

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
)

// CallAPI calls a cgi-bin API of the Official Account with its basic access
// token: GET when body is nil, else POST of body as JSON. path is a
// constant of the caller's such as "/cgi-bin/menu/create" (it names the
// call in errors and metrics, so it must never come from input); query are
// extra parameters in order. The answer is decoded into out (nil: only the
// errcode matters). The token is scrubbed from every error.
//
// The call is one attempt and may be re-sent by net/http only when it is a
// GET: a token-error answer (IsTokenInvalid) is the token center's to
// handle (tokencenter.Center.Do renews the token and retries once).
func (c *Client) CallAPI(ctx context.Context, token, path string, query [][2]string, body any, out any) error {
	if !strings.HasPrefix(path, "/cgi-bin/") {
		return errors.New("wechat: CallAPI path must start with /cgi-bin/")
	}
	ep := endpoint{name: strings.TrimPrefix(path, "/cgi-bin/"), path: path, replayable: body == nil}
	params := make([]param, 0, 1+len(query))
	params = append(params, param{key: "access_token", value: token, sensitive: true})
	for _, kv := range query {
		params = append(params, param{key: kv[0], value: kv[1]})
	}
	var raw []byte
	if body != nil {
		var err error
		if raw, err = marshalNoEscape(body); err != nil {
			return err
		}
	}
	return c.send(ctx, ep, params, raw, nil, out)
}

// marshalNoEscape encodes v as WeChat expects: UTF-8 as is, no \u escapes of
// <, > and & (WeChat stores a menu name "A&B" as sent).
func marshalNoEscape(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimRight(b.String(), "\n")), nil
}

// IsTokenInvalid reports whether WeChat refused the account's access token
// itself (40001 invalid or not the latest, 40014 invalid, 42001 expired):
// the token must be renewed and the call retried.
func IsTokenInvalid(err error) bool {
	code, ok := ErrCode(err)
	return ok && (code == ErrCodeInvalidCredential || code == ErrCodeInvalidToken || code == ErrCodeAccessTokenExpired)
}
