package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// control talks to the simulator's control endpoints and wxlogin's /metrics.
type control struct {
	cfg *config
	hc  *http.Client
}

// simStats is the part of the simulator's GET /_control/stats the load tool reads.
type simStats struct {
	Exchanges                  int `json:"exchanges"`
	CodesIssued                int `json:"codes_issued"`
	CodesExchangedMoreThanOnce int `json:"codes_exchanged_more_than_once"`
	UserInfoCalls              int `json:"userinfo_calls"`
	// ByEndpoint counts calls per endpoint ("jscode2session" in mini mode).
	ByEndpoint map[string]int `json:"by_endpoint"`
}

func (c *control) simStats(ctx context.Context) (simStats, error) {
	var st simStats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.sim.String()+"/_control/stats", nil)
	if err != nil {
		return st, err
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return st, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return st, fmt.Errorf("HTTP %d", res.StatusCode)
	}
	err = json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&st)
	return st, err
}

// setLatency sets the simulator's delay per WeChat API call.
func (c *control) setLatency(ctx context.Context, d time.Duration) error {
	u := fmt.Sprintf("%s/_control/latency?ms=%d", c.cfg.sim.String(), d.Milliseconds())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return err
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", res.StatusCode)
	}
	return nil
}

// serverCounters are the sums over the instances of what the load tool
// reads from wxlogin's /metrics.
type serverCounters struct {
	Scraped       int     // instances whose /metrics answered
	HTTP5xx       float64 // wxlogin_http_requests_total with a 5xx status
	PoolWaits     float64 // go_sql_wait_count_total{db_name="wxlogin"}
	PoolWaitSecs  float64 // go_sql_wait_duration_seconds_total{db_name="wxlogin"}
	PoolMaxOpen   float64 // go_sql_max_open_connections (per instance, summed)
	Logins        map[string]float64
	Events        map[string]float64
	DupWaitCount  map[string]float64 // wxlogin_duplicate_wait_seconds_count by source
	DupWaitSum    map[string]float64
	WeChatCalls   float64
	LoginRestarts float64
}

// scrapeAll reads /metrics of every distinct -url.
func (c *control) scrapeAll(ctx context.Context) serverCounters {
	sc := serverCounters{Logins: map[string]float64{}, Events: map[string]float64{},
		DupWaitCount: map[string]float64{}, DupWaitSum: map[string]float64{}}
	seen := map[string]bool{}
	for _, u := range c.cfg.urls {
		if seen[u.Host] {
			continue
		}
		seen[u.Host] = true
		if err := c.scrape(ctx, u.String()+"/metrics", &sc); err == nil {
			sc.Scraped++
		}
	}
	return sc
}

func (c *control) scrape(ctx context.Context, u string, sc *serverCounters) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", res.StatusCode)
	}
	return parseMetrics(io.LimitReader(res.Body, 8<<20), sc)
}

// parseMetrics adds the samples the load tool cares about from Prometheus'
// text format to sc. Only these few names matter, so a small parser does.
func parseMetrics(r io.Reader, sc *serverCounters) error {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		line := s.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, labels, value, ok := metricLine(line)
		if !ok {
			continue
		}
		switch name {
		case "wxlogin_http_requests_total":
			if strings.HasPrefix(labels["status"], "5") {
				sc.HTTP5xx += value
			}
		case "go_sql_wait_count_total":
			if labels["db_name"] == "wxlogin" {
				sc.PoolWaits += value
			}
		case "go_sql_wait_duration_seconds_total":
			if labels["db_name"] == "wxlogin" {
				sc.PoolWaitSecs += value
			}
		case "go_sql_max_open_connections":
			if labels["db_name"] == "wxlogin" {
				sc.PoolMaxOpen += value
			}
		case "wxlogin_logins_total":
			sc.Logins[labels["result"]] += value
		case "wxlogin_exchange_events_total":
			sc.Events[labels["event"]] += value
		case "wxlogin_duplicate_wait_seconds_count":
			sc.DupWaitCount[labels["source"]] += value
		case "wxlogin_duplicate_wait_seconds_sum":
			sc.DupWaitSum[labels["source"]] += value
		case "wxlogin_wechat_calls_total":
			sc.WeChatCalls += value
		case "wxlogin_login_restarts_total":
			sc.LoginRestarts += value
		}
	}
	return s.Err()
}

// metricLine splits `name{a="b",c="d"} 12.5 [timestamp]`.
func metricLine(line string) (name string, labels map[string]string, value float64, ok bool) {
	labels = map[string]string{}
	rest := line
	if i := strings.IndexByte(line, '{'); i >= 0 {
		j := strings.LastIndexByte(line, '}')
		if j < i {
			return "", nil, 0, false
		}
		name, rest = line[:i], line[j+1:]
		for _, kv := range splitLabels(line[i+1 : j]) {
			k, v, found := strings.Cut(kv, "=")
			if !found {
				continue
			}
			if uq, err := strconv.Unquote(v); err == nil {
				v = uq
			}
			labels[strings.TrimSpace(k)] = v
		}
	} else {
		sp := strings.IndexByte(line, ' ')
		if sp < 0 {
			return "", nil, 0, false
		}
		name, rest = line[:sp], line[sp:]
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", nil, 0, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return "", nil, 0, false
	}
	return name, labels, v, true
}

// splitLabels splits a label list on commas outside quotes.
func splitLabels(s string) []string {
	var out []string
	inQ, esc, from := false, false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case esc:
			esc = false
		case s[i] == '\\':
			esc = true
		case s[i] == '"':
			inQ = !inQ
		case s[i] == ',' && !inQ:
			out = append(out, s[from:i])
			from = i + 1
		}
	}
	if from < len(s) {
		out = append(out, s[from:])
	}
	return out
}
