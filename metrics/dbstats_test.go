package metrics

import (
	"database/sql"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
)

type fixedStats sql.DBStats

func (s fixedStats) Stats() sql.DBStats { return sql.DBStats(s) }

// The pool series keep the names, label and types of Prometheus's
// database/sql collector (dashboards and the load tool read
// go_sql_wait_count_total), whatever pool they are read from.
func TestPoolSeriesKeepDatabaseSQLNames(t *testing.T) {
	m := New(fixedStats{MaxOpenConnections: 20, OpenConnections: 7, InUse: 5, Idle: 2, WaitCount: 12,
		WaitDuration: 1500 * time.Millisecond, MaxIdleClosed: 1, MaxIdleTimeClosed: 3, MaxLifetimeClosed: 4})
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*dto.MetricFamily{}
	for _, f := range families {
		got[f.GetName()] = f
	}
	tests := []struct {
		name  string
		typ   dto.MetricType
		value float64
	}{
		{"go_sql_max_open_connections", dto.MetricType_GAUGE, 20},
		{"go_sql_open_connections", dto.MetricType_GAUGE, 7},
		{"go_sql_in_use_connections", dto.MetricType_GAUGE, 5},
		{"go_sql_idle_connections", dto.MetricType_GAUGE, 2},
		{"go_sql_wait_count_total", dto.MetricType_COUNTER, 12},
		{"go_sql_wait_duration_seconds_total", dto.MetricType_COUNTER, 1.5},
		{"go_sql_max_idle_closed_total", dto.MetricType_COUNTER, 1},
		{"go_sql_max_idle_time_closed_total", dto.MetricType_COUNTER, 3},
		{"go_sql_max_lifetime_closed_total", dto.MetricType_COUNTER, 4},
	}
	for _, tt := range tests {
		f := got[tt.name]
		if f == nil || len(f.Metric) != 1 || f.GetType() != tt.typ {
			t.Errorf("%s: %v", tt.name, f)
			continue
		}
		mt := f.Metric[0]
		v := mt.GetGauge().GetValue()
		if tt.typ == dto.MetricType_COUNTER {
			v = mt.GetCounter().GetValue()
		}
		if v != tt.value || len(mt.Label) != 1 || mt.Label[0].GetName() != "db_name" || mt.Label[0].GetValue() != "wxlogin" {
			t.Errorf("%s = %v %v, want %v {db_name=wxlogin}", tt.name, v, mt.Label, tt.value)
		}
	}
}
