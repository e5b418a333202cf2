package metrics

import "github.com/prometheus/client_golang/prometheus"

// newTokenAPIReads counts reads of /api/wechat/access-token. The key label
// is the key's position in TOKEN_API_KEYS ("1", "2", ...) or "none" for a
// request with no valid key: bounded by the configuration, and never the
// key itself.
func newTokenAPIReads() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wxlogin_access_token_api_reads_total",
		Help: "Reads of /api/wechat/access-token by key (its position in TOKEN_API_KEYS, or none) and result (ok, unauthorized, unavailable).",
	}, []string{"key", "result"})
}

// TokenAPIRead counts one read of the access-token API; key is "none" or
// the key's 1-based position as a string.
func (m *Metrics) TokenAPIRead(key, result string) {
	m.TokenAPIReads.WithLabelValues(key, result).Inc()
}
