// Package metrics defines wxlogin's Prometheus metrics on a registry of its
// own (no global state), so two instances in one test process do not collide.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every collector.
type Metrics struct {
	Registry *prometheus.Registry

	Requests        *prometheus.CounterVec
	RequestDuration *prometheus.HistogramVec
	Logins          *prometheus.CounterVec
	ExchangeEvents  *prometheus.CounterVec
	DuplicateWait   *prometheus.HistogramVec
	Restarts        prometheus.Counter
	WeChatCalls     *prometheus.CounterVec
	WeChatDuration  *prometheus.HistogramVec
	Pushes          *prometheus.CounterVec
	TokenAPIReads   *prometheus.CounterVec

	// refused is the one series of requests with an unknown method.
	refused prometheus.Counter
}

// New registers the collectors; db may be nil (no pool metrics).
func New(db DBStats) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if db != nil {
		reg.MustRegister(newDBStatsCollector(db, "wxlogin"))
	}
	fast := []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	m := &Metrics{
		Registry: reg,
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxlogin_http_requests_total", Help: "HTTP requests by route template, method (OTHER: not a standard one) and status.",
		}, []string{"route", "method", "status"}),
		RequestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wxlogin_http_request_duration_seconds", Help: "HTTP request latency by route.", Buckets: fast,
		}, []string{"route"}),
		Logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxlogin_logins_total", Help: "Callback outcomes: ok, duplicate, restart, cancelled, bad_state, failed_<kind>.",
		}, []string{"result"}),
		ExchangeEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxlogin_exchange_events_total", Help: "Exactly-once gate events: claimed, duplicate, takeover, abandoned, foreign, unknown, timeout.",
		}, []string{"event"}),
		DuplicateWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wxlogin_duplicate_wait_seconds", Help: "How long a duplicate callback waited for its owner, by source (local, db).", Buckets: fast,
		}, []string{"source"}),
		Restarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wxlogin_login_restarts_total", Help: "Logins restarted silently after WeChat rejected a code.",
		}),
		WeChatCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxlogin_wechat_calls_total", Help: "WeChat API calls by endpoint and errcode (-2: transport/HTTP/JSON failure).",
		}, []string{"endpoint", "errcode"}),
		WeChatDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "wxlogin_wechat_call_duration_seconds", Help: "WeChat API call latency by endpoint.", Buckets: fast,
		}, []string{"endpoint"}),
		Pushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wxlogin_pushes_total", Help: "Deliveries to /wechat/notify by result (ok, duplicate, refused, unavailable) and, for refused, reason.",
		}, []string{"result", "reason"}),
	}
	reg.MustRegister(m.Pushes)
	m.TokenAPIReads = newTokenAPIReads()
	reg.MustRegister(m.Requests, m.RequestDuration, m.Logins, m.ExchangeEvents, m.DuplicateWait, m.Restarts, m.WeChatCalls, m.WeChatDuration,
		m.TokenAPIReads)
	m.refused = m.Requests.WithLabelValues(RouteUnmatched, MethodOther, strconv.Itoa(http.StatusNotImplemented))
	return m
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Event implements exchange.Metrics.
func (m *Metrics) Event(name string) { m.ExchangeEvents.WithLabelValues(name).Inc() }

// Waited implements exchange.Metrics.
func (m *Metrics) Waited(source string, d time.Duration) {
	m.DuplicateWait.WithLabelValues(source).Observe(d.Seconds())
}

// ObserveWeChat is the WeChat client's Observe hook.
func (m *Metrics) ObserveWeChat(endpoint string, errcode int, d time.Duration) {
	m.WeChatCalls.WithLabelValues(endpoint, strconv.Itoa(errcode)).Inc()
	m.WeChatDuration.WithLabelValues(endpoint).Observe(d.Seconds())
}

// Database registers gauges for how this instance reaches Postgres: whether
// exchange wake-ups (NOTIFY) are being delivered — while not, waiters poll at
// the fast rate — and whether its connections go through a transaction-mode
// pooler (then queries use describe-only statements).
func (m *Metrics) Database(wakeupsLive, pooled func() bool) {
	gauge := func(f func() bool) func() float64 {
		return func() float64 {
			if f() {
				return 1
			}
			return 0
		}
	}
	m.Registry.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wxlogin_wakeups_live", Help: "1 while this instance's self-addressed NOTIFY probe arrives (duplicates are woken by NOTIFY), 0 while waiters poll at the fast rate.",
		}, gauge(wakeupsLive)),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wxlogin_db_pooler", Help: "1 when database connections go through a transaction-mode pooler (describe-only statements), 0 when direct (prepared statements).",
		}, gauge(pooled)),
	)
}

// Push implements push.Metrics. Both labels come from push's fixed sets,
// never from the request.
func (m *Metrics) Push(result string, reason string) {
	m.Pushes.WithLabelValues(result, reason).Inc()
}
