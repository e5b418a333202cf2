package app

import (
	"net/http"
	"net/http/httptest"
)

// inProcess is an http.RoundTripper that serves requests with a handler in
// this process: in development the server calls its own built-in simulator
// without a network hop or a reachable BASE_URL.
type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, req)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	res := rec.Result()
	res.Request = req
	return res, nil
}
