// Package batonbench measures the BatonService against a real
// `conncred serve` over TLS and HTTP/2: upload throughput beside the disk's
// own fsync'd write speed, and GetTask polls and heartbeats per second from
// many connectors with the server's CPU per call read from /proc.
//
// It holds only tests, and they run only when CONNCRED_BATON_BENCH=1 (they
// take minutes and build the binary); BENCHMARKS.md says how to run them
// and what they measured. Every figure is logged, none is asserted: the
// machines are shared and their speed is not the server's.
package batonbench
