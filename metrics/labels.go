package metrics

import (
	"net/http"
	"strconv"
	"time"
)

// Request labels come from fixed sets only. The method and the path are
// whatever the client sends (a method is any token up to the header limit),
// so a label taken from them as sent lets anyone mint series without bound:
// 50,000 made-up methods once grew the process by 900 MB and /metrics to
// 400 MB (issue 17). Routes are the router's templates, never raw paths.

// MethodOther is the method label of every non-standard method.
const MethodOther = "OTHER"

// RouteUnmatched is the route label of requests no route matched.
const RouteUnmatched = "unmatched"

// statusOther is the status label of a status outside 100–599.
const statusOther = "other"

// Method returns the label (and log value) for a request method: a standard
// method (RFC 9110, RFC 5789) as itself, anything else MethodOther. The
// result is always one of the constants, never the request's own string.
func Method(m string) string {
	switch m {
	case http.MethodGet:
		return http.MethodGet
	case http.MethodHead:
		return http.MethodHead
	case http.MethodPost:
		return http.MethodPost
	case http.MethodPut:
		return http.MethodPut
	case http.MethodPatch:
		return http.MethodPatch
	case http.MethodDelete:
		return http.MethodDelete
	case http.MethodOptions:
		return http.MethodOptions
	case http.MethodConnect:
		return http.MethodConnect
	case http.MethodTrace:
		return http.MethodTrace
	}
	return MethodOther
}

// KnownMethod reports whether m is a standard method.
func KnownMethod(m string) bool { return Method(m) != MethodOther }

// status returns the label for an HTTP status: the code if it is a real
// one, else statusOther.
func status(code int) string {
	if code < 100 || code > 599 {
		return statusOther
	}
	return strconv.Itoa(code)
}

// Request records one answered request. route must be a route template or
// RouteUnmatched; the method and status are mapped to their fixed sets here,
// so a caller cannot pass a client's value through.
func (m *Metrics) Request(route, method string, code int, d time.Duration) {
	m.Requests.WithLabelValues(route, Method(method), status(code)).Inc()
	m.RequestDuration.WithLabelValues(route).Observe(d.Seconds())
}

// RefusedMethod counts a request refused for its unknown method, in one
// series made in advance (route unmatched, method OTHER, status 501): no
// label lookup, nothing that grows.
func (m *Metrics) RefusedMethod() { m.refused.Inc() }
