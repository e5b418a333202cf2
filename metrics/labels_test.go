package metrics

import (
	"strings"
	"testing"
	"time"
)

func TestMethodLabelIsFromAFixedSet(t *testing.T) {
	tests := []struct{ in, want string }{
		{"GET", "GET"}, {"HEAD", "HEAD"}, {"POST", "POST"}, {"PUT", "PUT"}, {"PATCH", "PATCH"},
		{"DELETE", "DELETE"}, {"OPTIONS", "OPTIONS"}, {"CONNECT", "CONNECT"}, {"TRACE", "TRACE"},
		{"get", MethodOther}, {"PROPFIND", MethodOther}, {"", MethodOther}, {strings.Repeat("X", 8000), MethodOther},
	}
	for _, tt := range tests {
		if got := Method(tt.in); got != tt.want {
			t.Errorf("Method(%.20q) = %q, want %q", tt.in, got, tt.want)
		}
		if KnownMethod(tt.in) != (tt.want != MethodOther) {
			t.Errorf("KnownMethod(%.20q) = %v", tt.in, KnownMethod(tt.in))
		}
	}
}

// Any number of made-up methods and odd statuses on one route make at most
// one series each of OTHER and "other".
func TestRequestLabelsStayBounded(t *testing.T) {
	m := New(nil)
	for i := range 1000 {
		m.Request("/", "M"+strings.Repeat("x", i), 1000+i, time.Millisecond)
		m.Request("/", "GET", 200, time.Millisecond)
	}
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "wxlogin_http_requests_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			key := ""
			for _, l := range s.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + ","
			}
			series[key] = s.GetCounter().GetValue()
		}
	}
	// The refused series made in advance, OTHER/other and GET/200.
	if len(series) != 3 {
		t.Fatalf("%d request series, want 3: %v", len(series), series)
	}
	if got := series["method=OTHER,route=/,status=other,"]; got != 1000 {
		t.Fatalf("OTHER/other counted %v, want 1000 (%v)", got, series)
	}
}
