// Package hostport takes the host out of a host[:port], the one way for the
// whole module: the audience of an assertion (client, load generator, e2e
// tests and the authority must agree on it byte for byte), the name on the
// server's certificate, the IP a request came from, and the check that a
// listen address is loopback. It is internal so that package client can use
// it without importing the server side.
package hostport

import (
	"net"
	"net/netip"
)

// Host returns the host of a "host", "host:port", "[ipv6]:port" or "[ipv6]"
// string, without port or brackets. A bare IPv6 address ("::1", which has
// colons but no brackets) is returned as it is, since its last colon is not
// a port separator. The empty string stays empty.
func Host(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	// No port: "host", "[ipv6]", a bare IPv6 address, or something
	// malformed, which is returned as given for the caller to refuse.
	if len(hostport) >= 2 && hostport[0] == '[' && hostport[len(hostport)-1] == ']' {
		return hostport[1 : len(hostport)-1]
	}
	return hostport
}

// IsLoopback reports whether hostport's host is a loopback IP address.
// Host names are not: "localhost" can resolve elsewhere.
func IsLoopback(hostport string) bool {
	ip := net.ParseIP(Host(hostport))
	return ip != nil && ip.IsLoopback()
}

// Audience returns the aud a client puts in its assertions for a server at
// hostport: the host without port, as the official clients send it (case
// as written; the server folds case when it compares).
func Audience(hostport string) string { return Host(hostport) }

// SourceBlock is the block a request's source address is counted under by
// the limits that count per source (failed token requests, connections):
// the address itself for IPv4 (and IPv4-mapped IPv6), its /64 for IPv6,
// the block one host or site is usually given, so that a host cannot slip
// past a per-address limit by cycling through its own addresses. A zone is
// dropped.
func SourceBlock(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64) // cannot fail for an IPv6 address and 64
		return p
	}
	return netip.PrefixFrom(ip, ip.BitLen())
}
