package wechatsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
)

// errmsgs are WeChat's errmsg prefixes; the simulator appends ", rid: ...".
var errmsgs = map[int]string{
	-1:    "system error",
	40001: "invalid credential, access_token is invalid or not latest",
	40002: "invalid grant_type",
	40003: "invalid openid",
	40013: "invalid appid",
	40014: "invalid access_token",
	40016: "invalid button size",
	40017: "invalid button type",
	40018: "invalid button name size",
	40019: "invalid button key size",
	40020: "invalid button url size",
	40023: "invalid sub button size",
	40024: "invalid sub button type",
	40025: "invalid sub button name size",
	40026: "invalid sub button key size",
	40027: "invalid sub button url size",
	40054: "invalid sub button url domain",
	40055: "invalid button url domain",
	40164: "invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist",
	45009: "reach max api daily quota limit",
	45011: "api minute-quota reach limit  mustslower  retry next minute",
	46003: "menu no exist",
	47001: "data format error",
	40029: "invalid code",
	40030: "invalid refresh_token",
	40125: "invalid appsecret",
	40163: "code been used",
	41001: "access_token missing",
	41002: "appid missing",
	41003: "refresh_token missing",
	41004: "appsecret missing",
	41008: "missing code",
	41009: "missing openid",
	42001: "access_token expired",
	42002: "refresh_token expired",
	42003: "code expired",
	48001: "api unauthorized",
}

// apiError is an errcode answer returned by an endpoint function.
type apiError int

// contentTypes are the Content-Types WeChat has been seen to send for JSON.
// The simulator rotates through them so clients must ignore the header.
var contentTypes = []string{
	"application/json; encoding=utf-8",
	"application/json",
	"text/plain",
}

func (s *Sim) nextContentType() string {
	return contentTypes[(s.ctSeq.Add(1)-1)%uint64(len(contentTypes))]
}

// writeAPI writes v as WeChat does: HTTP 200, compact JSON, HTML characters
// and non-ASCII left unescaped, a rotating Content-Type.
func (s *Sim) writeAPI(w http.ResponseWriter, v any) {
	if code, ok := v.(apiError); ok {
		msg, known := errmsgs[int(code)]
		if !known {
			msg = "unknown error"
		}
		v = struct {
			ErrCode int    `json:"errcode"`
			ErrMsg  string `json:"errmsg"`
		}{int(code), msg + ", rid: " + rid()}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	s.writeRaw(w, http.StatusOK, s.nextContentType(), bytes.TrimRight(buf.Bytes(), "\n"))
}

func (s *Sim) writeRaw(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeControl writes a control-endpoint answer: plain, predictable JSON.
func writeControl(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
