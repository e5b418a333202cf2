package main

import (
	"net/http"
	"net/http/pprof"
)

// registerPprof adds net/http/pprof to mux. It is only ever mounted on a
// side listener (PPROF_ADDR, loopback only, possibly shared with
// METRICS_ADDR), so profiles are never reachable through the public port.
func registerPprof(mux *http.ServeMux) {
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
}
