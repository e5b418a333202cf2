package wechatsim

import "maps"

// Stats are the simulator's counters since the last Reset.
type Stats struct {
	// Exchanges counts calls to /sns/oauth2/access_token, faulted or not.
	Exchanges int `json:"exchanges"`
	// CodesIssued counts codes minted by authorizations and IssueCode.
	CodesIssued int `json:"codes_issued"`
	// CodesExchangedMoreThanOnce counts codes that reached
	// /sns/oauth2/access_token at least twice. wxlogin's promise is that
	// this stays 0.
	CodesExchangedMoreThanOnce int `json:"codes_exchanged_more_than_once"`
	// UserInfoCalls counts calls to /sns/userinfo.
	UserInfoCalls int `json:"userinfo_calls"`
	// ByEndpoint counts requests per endpoint: "authorize", "confirm",
	// "access_token", "refresh_token", "auth", "userinfo", "jscode2session".
	ByEndpoint map[string]int `json:"by_endpoint"`
	// Pushes counts delivery attempts to /wechat/notify (each URL of a
	// duplicate delivery counts).
	Pushes int `json:"pushes"`
}

// Stats returns a snapshot of the counters.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByEndpoint = maps.Clone(s.stats.ByEndpoint)
	return st
}

// Reset zeroes the counters (including ExchangeCount of every code) and
// removes faults and latency. Codes and tokens stay valid, so a test can
// reset between steps of one login.
func (s *Sim) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{ByEndpoint: map[string]int{}}
	for _, rec := range s.codes {
		rec.exchanges = 0
	}
	clear(s.unknown)
	clear(s.miniRate)
	clear(s.faults)
	s.latency = 0
	s.acct.counts = TokenStats{}
}

// hit counts one request to endpoint.
func (s *Sim) hit(endpoint string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.ByEndpoint[endpoint]++
}
