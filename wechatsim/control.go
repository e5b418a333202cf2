package wechatsim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// The control endpoints let programs that cannot call Go methods (shell
// scripts, end-to-end tests of the built binaries) drive the simulator.
// They accept small bodies only and never reveal codes or tokens.

func (s *Sim) controlStats(w http.ResponseWriter, _ *http.Request) {
	writeControl(w, http.StatusOK, s.Stats())
}

// controlUsers lists the test users so a program can pick one for
// X-Sim-User.
func (s *Sim) controlUsers(w http.ResponseWriter, r *http.Request) {
	base := s.publicBase(r)
	out := make([]User, len(s.users))
	for i := range s.users {
		out[i] = s.publicUser(&s.users[i], base, langCN)
	}
	writeControl(w, http.StatusOK, out)
}

func (s *Sim) controlExchanges(w http.ResponseWriter, r *http.Request) {
	writeControl(w, http.StatusOK, map[string]int{"code_count": s.ExchangeCount(r.URL.Query().Get("code"))})
}

// maxControlLatency bounds POST /_control/latency.
const maxControlLatency = time.Minute

func (s *Sim) controlLatency(w http.ResponseWriter, r *http.Request) {
	ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
	if err != nil || ms < 0 || time.Duration(ms)*time.Millisecond > maxControlLatency {
		writeControl(w, http.StatusBadRequest, map[string]string{"error": "ms must be an integer from 0 to 60000"})
		return
	}
	s.SetLatency(time.Duration(ms) * time.Millisecond)
	writeControl(w, http.StatusOK, map[string]int{"latency_ms": ms})
}

// faultRequest is the body of POST /_control/fault.
type faultRequest struct {
	Endpoint    string `json:"endpoint"`
	ErrCode     int    `json:"errcode"`
	HTTPStatus  int    `json:"http_status"`
	Hang        bool   `json:"hang"`
	BadJSON     bool   `json:"bad_json"`
	Count       int    `json:"count"`
	DelayMS     int    `json:"delay_ms"`
	ConsumeCode bool   `json:"consume_code"`
}

func (s *Sim) controlFault(w http.ResponseWriter, r *http.Request) {
	var fr faultRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&fr); err != nil {
		writeControl(w, http.StatusBadRequest, map[string]string{"error": "body must be a fault JSON object"})
		return
	}
	delay := time.Duration(fr.DelayMS) * time.Millisecond
	switch {
	case !validEndpoint(fr.Endpoint):
		writeControl(w, http.StatusBadRequest, map[string]string{"error": "unknown endpoint"})
		return
	case fr.Count < 0, fr.DelayMS < 0, delay > maxControlLatency,
		fr.HTTPStatus != 0 && (fr.HTTPStatus < 100 || fr.HTTPStatus > 599):
		writeControl(w, http.StatusBadRequest, map[string]string{"error": "count, delay_ms or http_status out of range"})
		return
	}
	s.SetFault(fr.Endpoint, Fault{
		ErrCode: fr.ErrCode, HTTPStatus: fr.HTTPStatus, Hang: fr.Hang, BadJSON: fr.BadJSON,
		Count: fr.Count, Delay: delay, ConsumeCode: fr.ConsumeCode,
	})
	writeControl(w, http.StatusOK, fr)
}

func (s *Sim) controlClearFaults(w http.ResponseWriter, _ *http.Request) {
	s.ClearFaults()
	writeControl(w, http.StatusOK, map[string]bool{"ok": true})
}

func (s *Sim) controlReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	writeControl(w, http.StatusOK, map[string]bool{"ok": true})
}
