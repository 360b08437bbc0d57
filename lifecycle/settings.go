package lifecycle

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
)

// SessionSettings returns the server-wide source restrictions. Admins only.
func (s *Service) SessionSettings(ctx context.Context) (SessionSettings, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return SessionSettings{}, err
	}
	return s.store.SessionSettings(ctx)
}

// SessionUpdate is an update of the session settings: the restrictions to
// set, and which of them (an empty mask sets both).
type SessionUpdate struct {
	ConnectorSource *SourceRestriction
	PCCAdminSource  *SourceRestriction
	Mask            []string // "connectorSource", "pccAdminSource"
}

func masked(mask []string, field string) bool {
	if len(mask) == 0 {
		return true
	}
	for _, m := range mask {
		if m == field {
			return true
		}
	}
	return false
}

// UpdateSessionSettings changes the server-wide source restrictions.
// Admins only. Every network is checked first (a malformed one is a 400
// and nothing changes), and an admin restriction that would refuse the
// caller's own address is refused: it would lock the caller out.
func (s *Service) UpdateSessionSettings(ctx context.Context, u SessionUpdate) (SessionSettings, error) {
	p, err := requireAdmin(ctx)
	if err != nil {
		return SessionSettings{}, err
	}
	for _, m := range u.Mask {
		if m != "connectorSource" && m != "pccAdminSource" {
			return SessionSettings{}, conncred.Errorf(conncred.EInvalid, "updateMask: %q cannot be set on this server (allowed: connectorSource, pccAdminSource)", trunc(m))
		}
	}
	cur, err := s.store.SessionSettings(ctx)
	if err != nil {
		return SessionSettings{}, err
	}
	next := cur
	var changed []string
	set := func(field string, in *SourceRestriction, dst *SourceRestriction) ([]netip.Prefix, error) {
		if in == nil || !masked(u.Mask, field) {
			return nil, nil
		}
		nets, err := ParseCIDRs("sessionSettings."+field+".sourceCidr", in.CIDRs)
		if err != nil {
			return nil, err
		}
		if in.Enabled && len(nets) == 0 {
			return nil, conncred.Errorf(conncred.EInvalid, "sessionSettings.%s is enabled with no sourceCidr, which would refuse every request; list the networks to allow", field)
		}
		*dst = SourceRestriction{Enabled: in.Enabled, CIDRs: canonical(nets)}
		changed = append(changed, fmt.Sprintf("%s enabled=%t %s", field, in.Enabled, strings.Join(dst.CIDRs, ",")))
		return nets, nil
	}
	if _, err := set("connectorSource", u.ConnectorSource, &next.ConnectorSource); err != nil {
		return SessionSettings{}, err
	}
	adminNets, err := set("pccAdminSource", u.PCCAdminSource, &next.PCCAdminSource)
	if err != nil {
		return SessionSettings{}, err
	}
	if adminNets != nil && next.PCCAdminSource.Enabled && !p.IsSystem() {
		a, ok := sourceAddr(conncred.SourceFrom(ctx))
		if p.Source != "" {
			a, ok = sourceAddr(p.Source)
		}
		if !ok || !allowed(adminNets, a) {
			return SessionSettings{}, conncred.Errorf(conncred.EInvalid, "pccAdminSource would refuse your own address (%s) and lock you out; include it, or test with POST /api/v1/settings/session/test-source-ip first", a)
		}
	}
	next.UpdatedAt = s.auth.Now()
	if err := s.store.PutSessionSettings(ctx, next); err != nil {
		return SessionSettings{}, err
	}
	s.sources.forget("")
	s.auth.Record(ctx, conncred.AuditEvent{Kind: AuditSessionSettings, Reason: truncReason(strings.Join(changed, "; "))})
	return next, nil
}

// SourceTest is the answer of TestSourceIP.
type SourceTest struct {
	Allowed   bool
	CheckedIP string
}

// TestSourceIP says whether ip (or, when empty, the caller's own address)
// is inside cidrs. Admins only; nothing is stored.
func (s *Service) TestSourceIP(ctx context.Context, cidrs []string, ip string) (SourceTest, error) {
	p, err := requireAdmin(ctx)
	if err != nil {
		return SourceTest{}, err
	}
	nets, err := ParseCIDRs("allowCidr", cidrs)
	if err != nil {
		return SourceTest{}, err
	}
	src := ip
	if src == "" {
		src = p.Source
		if src == "" {
			src = conncred.SourceFrom(ctx)
		}
	}
	a, ok := sourceAddr(src)
	if !ok {
		return SourceTest{}, conncred.Errorf(conncred.EInvalid, "sourceIp %q is not an IP address", trunc(src))
	}
	return SourceTest{Allowed: allowed(nets, a), CheckedIP: a.String()}, nil
}

// CredentialSourceLimit returns the networks a connector credential may be
// used from (none: no limit of its own). Admins only.
func (s *Service) CredentialSourceLimit(ctx context.Context, appID, connectorID, id string) ([]string, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if _, err := s.connectorCredential(ctx, appID, connectorID, id); err != nil {
		return nil, err
	}
	return s.store.SourceLimit(ctx, id)
}

// SetCredentialSourceLimit replaces a connector credential's networks; an
// empty list removes its limit. Admins only.
func (s *Service) SetCredentialSourceLimit(ctx context.Context, appID, connectorID, id string, cidrs []string) ([]string, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	nets, err := ParseCIDRs("allowSourceCidr", cidrs)
	if err != nil {
		return nil, err
	}
	c, err := s.connectorCredential(ctx, appID, connectorID, id)
	if err != nil {
		return nil, err
	}
	if c.DeletedAt != nil {
		return nil, conncred.Errorf(conncred.EInvalid, "credential %s is revoked; its source networks no longer matter", id)
	}
	out := canonical(nets)
	if err := s.store.SetSourceLimit(ctx, id, out, s.auth.Now()); err != nil {
		return nil, err
	}
	s.sources.forget(id)
	s.auth.Record(ctx, conncred.AuditEvent{Kind: AuditSourceLimitChanged, AppID: c.AppID, ConnectorID: c.ConnectorID, CredentialID: c.ID,
		Reason: truncReason("allowSourceCidr " + strings.Join(out, ","))})
	return out, nil
}

func (s *Service) connectorCredential(ctx context.Context, appID, connectorID, id string) (conncred.Credential, error) {
	notFound := conncred.Errorf(conncred.ENotFound, "credential %q not found", trunc(id))
	if !ksuid.Valid(id) {
		return conncred.Credential{}, notFound
	}
	c, err := s.store.GetCredential(ctx, id)
	if conncred.ErrorCode(err) == conncred.ENotFound {
		return conncred.Credential{}, notFound
	}
	if err != nil {
		return conncred.Credential{}, err
	}
	if c.Kind != conncred.KindConnector || c.AppID != appID || c.ConnectorID != connectorID {
		return conncred.Credential{}, notFound
	}
	return c, nil
}

func truncReason(s string) string {
	if len(s) > 500 {
		return s[:500] + "..."
	}
	return s
}

// ForgetSourceLimit drops a credential's cached source limit, for a wing
// that changed it (package personal, on a personal client's update), so
// that the change holds on this node at once; other nodes see it within
// the cache's TTL.
func (s *Service) ForgetSourceLimit(credentialID string) { s.sources.forget(credentialID) }
