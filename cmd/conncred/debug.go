package main

import (
	"net"
	"net/http"
	"net/http/pprof"
	"runtime/debug"
	"time"

	"github.com/conncred/conncred/internal/hostport"
)

// debugServer serves Go's profiler on its own listener, never on the API's:
// profiles show request timing and memory, so they stay on loopback, apart
// from anything a client can reach.
func debugServer() *http.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// A CPU profile or trace runs for its ?seconds=, so no write timeout.
	return &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
}

// isLoopback reports whether addr is a listen address (with its port) on a
// loopback IP address. Host names are refused: "localhost" can resolve
// elsewhere.
func isLoopback(addr string) bool {
	_, _, err := net.SplitHostPort(addr) // without a port it is no listen address
	return err == nil && hostport.IsLoopback(addr)
}

// serverGCPercent is the GOGC the server runs with unless GOGC is set. Its
// live heap is small (tens of MiB) and its garbage is per request, so with
// Go's default of 100 it collects many times a second under load; 400
// measured 8% more token exchanges for the same CPU, for about 12 MiB more
// peak memory (BENCHMARKS.md).
const serverGCPercent = 400

// tuneGC applies serverGCPercent when the operator has not chosen a GOGC,
// and returns the percentage in force.
func tuneGC(getenv func(string) string) int {
	if v := getenv("GOGC"); v != "" {
		cur := debug.SetGCPercent(100)
		debug.SetGCPercent(cur)
		return cur
	}
	debug.SetGCPercent(serverGCPercent)
	return serverGCPercent
}
