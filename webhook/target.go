package webhook

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/conncred/conncred"
)

// TargetPolicy says which endpoint URLs are accepted and which addresses
// deliveries may connect to (SSRF protection).
type TargetPolicy struct {
	// AllowLoopbackHTTP accepts http:// URLs whose host is a loopback
	// address or localhost, and lets deliveries connect to loopback
	// (--webhook-allow-loopback-http; for tests and local receivers).
	AllowLoopbackHTTP bool
	// AllowPrivate lets deliveries connect to private, loopback, link-local
	// and other non-public addresses (--webhook-allow-private), for
	// receivers inside the operator's network.
	AllowPrivate bool
	// RootCAs are the certificate authorities deliveries trust (nil: the
	// system's), for receivers behind a private CA.
	RootCAs *x509.CertPool
}

// checkURL validates an endpoint URL when it is created.
func (p TargetPolicy) checkURL(raw string) (*url.URL, error) {
	if len(raw) > maxURL {
		return nil, conncred.Errorf(conncred.EInvalid, "url is longer than %d characters", maxURL)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return nil, conncred.Errorf(conncred.EInvalid, "url must be an absolute https URL such as https://hooks.example.com/conncred")
	}
	if u.User != nil {
		return nil, conncred.Errorf(conncred.EInvalid, "url must not carry a user or password; authenticate the request by its signature")
	}
	if u.Fragment != "" {
		return nil, conncred.Errorf(conncred.EInvalid, "url must not have a fragment (#...)")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !p.AllowLoopbackHTTP || !isLoopbackHost(u.Hostname()) {
			return nil, conncred.Errorf(conncred.EInvalid, "url must be https; plain http is accepted only to a loopback address on a server started with --webhook-allow-loopback-http")
		}
	default:
		return nil, conncred.Errorf(conncred.EInvalid, "url must be https, not %q", u.Scheme)
	}
	if addr, err := netip.ParseAddr(u.Hostname()); err == nil && !p.addrAllowed(addr) {
		return nil, conncred.Errorf(conncred.EInvalid, "url names a private, loopback or link-local address; a server started with --webhook-allow-private may send there")
	}
	return u, nil
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	a, err := netip.ParseAddr(h)
	return err == nil && a.IsLoopback()
}

// addrAllowed reports whether a delivery may connect to addr.
func (p TargetPolicy) addrAllowed(addr netip.Addr) bool {
	addr = addr.Unmap()
	if addr.IsLoopback() {
		return p.AllowPrivate || p.AllowLoopbackHTTP
	}
	if p.AllowPrivate {
		return !addr.IsUnspecified() && !addr.IsMulticast()
	}
	if addr.IsPrivate() || addr.IsLinkLocalUnicast() || addr.IsLinkLocalMulticast() || addr.IsUnspecified() ||
		addr.IsMulticast() || addr.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range blocked {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// blocked are non-public ranges netip has no predicate for.
var blocked = []netip.Prefix{
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved
	netip.MustParsePrefix("64:ff9b::/96"),  // NAT64 may reach private IPv4
	netip.MustParsePrefix("2001:db8::/32"), // documentation
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"
	netip.MustParsePrefix("255.255.255.255/32"),
}

// errTarget is a delivery refused by the SSRF guard.
var errTarget = errors.New("the endpoint resolved to an address deliveries may not connect to")

// newHTTPClient returns the client deliveries use: the address check runs
// on the address actually dialled (after DNS), so a name that resolves to
// a private address is refused too; no proxy from the environment; at most
// three redirects, each to the same scheme and host.
func (p TargetPolicy) newHTTPClient(timeout time.Duration) *http.Client {
	d := &net.Dialer{
		Timeout: timeout,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !p.addrAllowed(ap.Addr()) {
				return errTarget
			}
			return nil
		},
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		TLSClientConfig:       &tls.Config{RootCAs: p.RootCAs, MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: tr,
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			if req.URL.Scheme != via[0].URL.Scheme || req.URL.Host != via[0].URL.Host {
				return fmt.Errorf("redirect to another host (%s) refused", req.URL.Host)
			}
			return nil
		},
	}
}
