// Package benchnode starts a real `conncred serve` and talks to it as a
// measuring client does: it finds or builds the binary, starts a node on
// loopback and waits until it serves, makes an HTTP client that trusts the
// node's dev CA, signs client assertions as ConductorOne's clients do,
// exchanges them for access tokens, makes the admin API calls that set a
// measurement up, reads a process's CPU time and peak RSS from /proc, and
// gives a run a fresh PostgreSQL schema.
//
// It is what the measurements of both modules share: internal/batonbench in
// this one, and the load generator in the bench module (bench/loadgen and
// bench/cmd/conncred-bench), which imports it by path. The generator itself
// (load, reports, chart) lives in the bench module, so that the product's
// module does not carry its dependencies; benchnodetest is a fake server for
// testing both.
package benchnode
