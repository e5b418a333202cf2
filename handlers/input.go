package handlers

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Input no page can use is refused for every route before a handler runs:
// a query or form that does not decode, and values holding NUL or invalid
// UTF-8. Postgres cannot store either in a text column, so such a value
// reaching any query would surface as a database error (a 5xx) instead of
// the 400 page it deserves.

// cleanEncoded reports whether raw (a query string or a urlencoded form)
// decodes and holds only valid UTF-8 without NUL, in names and values.
func cleanEncoded(raw string) bool {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return false
	}
	for k, vs := range vals {
		if !cleanText(k) {
			return false
		}
		for _, v := range vs {
			if !cleanText(v) {
				return false
			}
		}
	}
	return true
}

func cleanText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// isForm reports a urlencoded form body, the only kind of body these pages read.
func isForm(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/x-www-form-urlencoded"
}

// readForm reads a form body of at most maxBody bytes and puts it back for
// the handler; tooLarge reports a longer one.
func readForm(r *http.Request) (body []byte, tooLarge bool, err error) {
	body, err = io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, false, err
	}
	if len(body) > maxBody {
		return nil, true, nil
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body, false, nil
}
