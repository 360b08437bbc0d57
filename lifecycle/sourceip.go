package lifecycle

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
)

// MaxSourceCIDRs bounds one list of networks: the check runs on every
// request, and real allow-lists are a handful of ranges.
const MaxSourceCIDRs = 100

// SourceRestriction limits a class of credentials to source networks, as
// ConductorOne's CIDRRestriction: {enabled, sourceCidr[]}.
type SourceRestriction struct {
	Enabled bool
	CIDRs   []string
}

// SessionSettings are the server-wide source restrictions. ConnectorSource
// applies to connector credentials, PCCAdminSource to admin (personal
// client) credentials.
type SessionSettings struct {
	ConnectorSource SourceRestriction
	PCCAdminSource  SourceRestriction
	UpdatedAt       time.Time
}

// ParseCIDRs checks a list of networks and returns them parsed. A bare
// address is taken as a network of one (/32 or /128). field names the list
// in errors, which say what to fix.
func ParseCIDRs(field string, cidrs []string) ([]netip.Prefix, error) {
	if len(cidrs) > MaxSourceCIDRs {
		return nil, conncred.Errorf(conncred.EInvalid, "%s has %d networks; at most %d", field, len(cidrs), MaxSourceCIDRs)
	}
	out := make([]netip.Prefix, 0, len(cidrs))
	for _, c := range cidrs {
		p, err := parseCIDR(c)
		if err != nil {
			return nil, conncred.Errorf(conncred.EInvalid, "%s: %q is not a network; write it as 10.0.0.0/8, 2001:db8::/32 or a single address", field, trunc(c))
		}
		if p.Addr() != p.Masked().Addr() {
			return nil, conncred.Errorf(conncred.EInvalid, "%s: %q has host bits set; did you mean %s?", field, trunc(c), p.Masked())
		}
		out = append(out, p)
	}
	return out, nil
}

func parseCIDR(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, conncred.Errorf(conncred.EInvalid, "IPv4-mapped network")
	}
	return p, nil
}

// canonical writes parsed networks back in their canonical form, so that
// what is stored and shown is what is enforced.
func canonical(ps []netip.Prefix) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

// sourceAddr parses the address a request came from, as the server
// computed it: "ip:port" from the connection, or a bare ip from a trusted
// X-Forwarded-For.
func sourceAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func allowed(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// sourceCache keeps the session settings and the per-credential limits
// read for the hot paths. An entry lives at most ttl, the backstop for a
// change made on another node; changes on this node drop it at once.
type sourceCache struct {
	store Store
	clock clock.Clock
	ttl   time.Duration

	mu       sync.Mutex
	settings *cachedSettings
	creds    map[string]cachedLimit
}

type cachedSettings struct {
	connector, admin []netip.Prefix // nil: not enabled
	fetched          time.Time
}

type cachedLimit struct {
	nets    []netip.Prefix // nil: no limit
	fetched time.Time
}

// maxCachedLimits bounds the per-credential cache; past it, it is emptied.
const maxCachedLimits = 100_000

func newSourceCache(st Store, clk clock.Clock, ttl time.Duration) *sourceCache {
	return &sourceCache{store: st, clock: clk, ttl: ttl, creds: map[string]cachedLimit{}}
}

func (c *sourceCache) fresh(fetched, now time.Time) bool {
	return now.Sub(fetched) < c.ttl && !now.Before(fetched)
}

func (c *sourceCache) sessionSettings(ctx context.Context) (*cachedSettings, error) {
	now := c.clock.Now()
	c.mu.Lock()
	s := c.settings
	c.mu.Unlock()
	if s != nil && c.fresh(s.fetched, now) {
		return s, nil
	}
	st, err := c.store.SessionSettings(ctx)
	if err != nil {
		return nil, err
	}
	s = &cachedSettings{fetched: now}
	// Stored lists were checked when saved; a list that no longer parses
	// (written by hand) fails closed: enabled with no network allows none.
	if st.ConnectorSource.Enabled {
		s.connector, _ = ParseCIDRs("connectorSource", st.ConnectorSource.CIDRs)
		if s.connector == nil {
			s.connector = []netip.Prefix{}
		}
	}
	if st.PCCAdminSource.Enabled {
		s.admin, _ = ParseCIDRs("pccAdminSource", st.PCCAdminSource.CIDRs)
		if s.admin == nil {
			s.admin = []netip.Prefix{}
		}
	}
	c.mu.Lock()
	c.settings = s
	c.mu.Unlock()
	return s, nil
}

func (c *sourceCache) credentialLimit(ctx context.Context, id string) ([]netip.Prefix, error) {
	now := c.clock.Now()
	c.mu.Lock()
	e, ok := c.creds[id]
	c.mu.Unlock()
	if ok && c.fresh(e.fetched, now) {
		return e.nets, nil
	}
	cidrs, err := c.store.SourceLimit(ctx, id)
	if err != nil {
		return nil, err
	}
	var nets []netip.Prefix
	if len(cidrs) > 0 {
		nets, _ = ParseCIDRs("allowSourceCidr", cidrs)
		if nets == nil {
			nets = []netip.Prefix{}
		}
	}
	c.mu.Lock()
	if len(c.creds) >= maxCachedLimits {
		clear(c.creds)
	}
	c.creds[id] = cachedLimit{nets: nets, fetched: now}
	c.mu.Unlock()
	return nets, nil
}

func (c *sourceCache) forget(credentialID string) {
	c.mu.Lock()
	if credentialID == "" {
		c.settings = nil
	} else {
		delete(c.creds, credentialID)
	}
	c.mu.Unlock()
}

// CheckSource decides whether cred may be used from addr (the request's
// source as the server computed it): the server-wide restriction for its
// kind, then its own allowSourceCidr. Both must allow it. The authority
// calls it at the token exchange and on every authenticated call, so a
// token carried elsewhere stops working. A refusal is EPermissionDenied
// naming the address; a store failure is returned as is.
func (s *Service) CheckSource(ctx context.Context, cred conncred.Credential, addr string) error {
	st, err := s.sources.sessionSettings(ctx)
	if err != nil {
		return err
	}
	server := st.connector
	which, kind := "connectorSource", KindConnector
	if cred.Kind == conncred.KindAdmin {
		server, which, kind = st.admin, "pccAdminSource", KindAdmin
	}
	own, err := s.sources.credentialLimit(ctx, cred.ID)
	if err != nil {
		return err
	}
	if server == nil && own == nil {
		return nil
	}
	a, ok := sourceAddr(addr)
	if !ok {
		scope := ScopeSession
		if server == nil {
			scope = ScopeCredential
		}
		s.cfg.Observer.SourceRefused(kind, scope)
		return conncred.Errorf(conncred.EPermissionDenied, "this credential is limited to source networks and the request's source address could not be read")
	}
	if server != nil && !allowed(server, a) {
		s.cfg.Observer.SourceRefused(kind, ScopeSession)
		return conncred.Errorf(conncred.EPermissionDenied, "source address %s is not in this server's %s networks (session settings)", a, which)
	}
	if own != nil && !allowed(own, a) {
		s.cfg.Observer.SourceRefused(kind, ScopeCredential)
		return conncred.Errorf(conncred.EPermissionDenied, "source address %s is not in this credential's allowSourceCidr networks", a)
	}
	return nil
}
