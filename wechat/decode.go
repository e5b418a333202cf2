package wechat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// completer is implemented by answer types that know their required fields,
// so a 200 answer that is valid JSON but not a WeChat success (e.g. "{}")
// is reported as bad JSON instead of an empty success.
type completer interface{ complete() bool }

func (t *Token) complete() bool    { return t.AccessToken != "" && t.OpenID != "" }
func (u *UserInfo) complete() bool { return u.OpenID != "" }
func (s *Session) complete() bool  { return s.OpenID != "" && s.SessionKey != "" }

// decodeBody interprets a 200 answer. The body is decoded as UTF-8 whatever
// the Content-Type said (WeChat sends "application/json; encoding=utf-8",
// "text/plain" or nothing), an error is recognised by a non-zero errcode,
// and anything else malformed is an *UnavailableError wrapping errBadJSON.
// out nil means the answer carries nothing but errcode (/sns/auth), which
// must then be present.
func decodeBody(endpoint string, body []byte, out any) error {
	body = bytes.TrimPrefix(body, []byte("\xEF\xBB\xBF"))
	bad := func(format string, args ...any) error {
		return &UnavailableError{Endpoint: endpoint, Status: 200,
			Err: fmt.Errorf("%w: "+format, append([]any{errBadJSON}, args...)...)}
	}

	var env struct {
		ErrCode json.RawMessage `json:"errcode"`
		ErrMsg  json.RawMessage `json:"errmsg"`
	}
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		return bad("not a JSON object")
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return bad("%v", err)
	}
	code, present, ok := parseErrCode(env.ErrCode)
	if !ok {
		return bad("errcode is not an integer")
	}
	if code != 0 {
		return &APIError{Endpoint: endpoint, Code: code, Msg: parseErrMsg(env.ErrMsg)}
	}
	if out == nil {
		if !present {
			return bad("no errcode")
		}
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return bad("%v", err)
	}
	if c, ok := out.(completer); ok && !c.complete() {
		return bad("required fields missing")
	}
	return nil
}

// parseErrCode accepts a JSON number or a quoted number, because a decoding
// detail must not turn a WeChat error into an "unavailable".
func parseErrCode(raw json.RawMessage) (code int, present, ok bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, true
	}
	s := string(raw)
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, true, false
		}
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n, true, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return 0, true, false
	}
	return int(f), true, true
}

func parseErrMsg(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}
