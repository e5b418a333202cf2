package metrics

import (
	"database/sql"

	"github.com/prometheus/client_golang/prometheus"
)

// DBStats is what the pool metrics are read from: *sql.DB, or *models.DB,
// whose Postgres pool is pgx's (its statistics in database/sql's terms).
type DBStats interface {
	Stats() sql.DBStats
}

// dbStatsCollector exports the go_sql_* series of Prometheus's
// collectors.NewDBStatsCollector (same names, help and db_name label), read
// from any DBStats rather than only a *sql.DB, so dashboards and the load
// tool (go_sql_wait_count_total) keep working on the pgx pool.
type dbStatsCollector struct {
	db    DBStats
	descs [9]*prometheus.Desc
}

func newDBStatsCollector(db DBStats, dbName string) *dbStatsCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("go_sql_"+name, help, nil, prometheus.Labels{"db_name": dbName})
	}
	return &dbStatsCollector{db: db, descs: [9]*prometheus.Desc{
		d("max_open_connections", "Maximum number of open connections to the database."),
		d("open_connections", "The number of established connections both in use and idle."),
		d("in_use_connections", "The number of connections currently in use."),
		d("idle_connections", "The number of idle connections."),
		d("wait_count_total", "The total number of connections waited for."),
		d("wait_duration_seconds_total", "The total time blocked waiting for a new connection."),
		d("max_idle_closed_total", "The total number of connections closed due to SetMaxIdleConns."),
		d("max_idle_time_closed_total", "The total number of connections closed due to SetConnMaxIdleTime."),
		d("max_lifetime_closed_total", "The total number of connections closed due to SetConnMaxLifetime."),
	}}
}

// Describe implements prometheus.Collector.
func (c *dbStatsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *dbStatsCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.db.Stats()
	g, n := prometheus.GaugeValue, prometheus.CounterValue
	for i, v := range []struct {
		t prometheus.ValueType
		v float64
	}{
		{g, float64(s.MaxOpenConnections)}, {g, float64(s.OpenConnections)}, {g, float64(s.InUse)}, {g, float64(s.Idle)},
		{n, float64(s.WaitCount)}, {n, s.WaitDuration.Seconds()}, {n, float64(s.MaxIdleClosed)}, {n, float64(s.MaxIdleTimeClosed)},
		{n, float64(s.MaxLifetimeClosed)},
	} {
		ch <- prometheus.MustNewConstMetric(c.descs[i], v.t, v.v)
	}
}
