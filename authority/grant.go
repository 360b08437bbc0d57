package authority

import (
	"context"
	"time"

	"github.com/conncred/conncred"
)

// Grant is a principal that another package authenticated without a stored
// credential: a workload federation trust (package federation) that
// verified a workload's own OIDC token. The authority mints the access token
// (MintGrant) and, on every later call, asks the package back whether the
// grant still stands (GrantChecker), so the other package owns its rules and
// records, and this one keeps the only token format and signing keys.
type Grant struct {
	// ID names the grant (the trust id); tokens carry it as "tid".
	ID       string
	ClientID string
	Kind     conncred.CredentialKind
	// AppID and ConnectorID are set for KindConnector.
	AppID       string
	ConnectorID string
	// Subject and SubjectIssuer are the external identity, carried in the
	// token's act claim for the audit trail.
	Subject       string
	SubjectIssuer string
	// MaxLifetime caps the token below the server's token TTL (0: no cap
	// of its own); NotAfter caps it absolutely (zero: none), so a token
	// never outlives the subject token it was exchanged for.
	MaxLifetime time.Duration
	NotAfter    time.Time
	// JKT binds the token to a DPoP key (binding.go); "" for Bearer.
	JKT string
}

// GrantChecker is implemented by the package whose grants the authority
// mints. CheckGrant returns the grant id's current principal, or an
// EUnauthenticated error that says why it no longer authenticates (deleted,
// its connector or app deleted). It is on the path of every API call made
// with such a token, so it must answer from a cache.
type GrantChecker interface {
	CheckGrant(ctx context.Context, id string) (Grant, error)
}

// grantCheckerBox holds the checker set at wiring time; the authority keeps
// it in an atomic.Pointer, so a late SetGrantChecker races nothing.
type grantCheckerBox struct{ c GrantChecker }

// SetGrantChecker installs c. Tokens that carry a grant id are refused
// until a checker is installed.
func (a *Authority) SetGrantChecker(c GrantChecker) {
	a.grants.Store(&grantCheckerBox{c: c})
}

// Source limits (the session settings, SetSourceGuard) apply to a grant as
// to the credential whose principal it grants: a trust that grants a
// connector is under connectorSource, an admin trust under pccAdminSource.
// Without this a workload federation trust was a way around the
// restriction: the same connector, reached from any address. A trust has
// no allowSourceCidr of its own (that list belongs to a stored
// credential); its condition over the workload's claims is where to
// narrow one trust. The check runs when the token is minted (after the
// subject token is verified, as a credential's runs after its assertion's
// signature) and on every call made with the token, so a token carried
// elsewhere stops working.

// grantCredential is the credential a source guard judges a grant as: its
// id, kind and principal, and nothing stored.
func grantCredential(g Grant) conncred.Credential {
	return conncred.Credential{ID: g.ID, Kind: g.Kind, ClientID: g.ClientID, AppID: g.AppID, ConnectorID: g.ConnectorID}
}

// MintGrant mints an access token for g. The caller has authenticated g
// (and records the audit event); the source address is checked here, and
// a refusal is invalid_client as for a credential used from outside its
// networks.
func (a *Authority) MintGrant(ctx context.Context, g Grant) (Token, error) {
	if g.ID == "" || g.ClientID == "" {
		return Token{}, conncred.Errorf(conncred.EInternal, "a grant needs an id and a client id")
	}
	if err := a.checkSource(ctx, grantCredential(g)); err != nil {
		if conncred.ErrorCode(err) != conncred.EPermissionDenied {
			return Token{}, err
		}
		te := tokenError(ErrInvalidClient, conncred.ErrorMessage(err))
		te.Reason = "source address not allowed"
		return Token{}, te
	}
	now := a.now()
	exp := now.Add(a.cfg.TokenTTL)
	if g.MaxLifetime > 0 && now.Add(g.MaxLifetime).Before(exp) {
		exp = now.Add(g.MaxLifetime)
	}
	if !g.NotAfter.IsZero() && g.NotAfter.Before(exp) {
		exp = g.NotAfter
	}
	if !exp.After(now) {
		return Token{}, tokenError(ErrInvalidGrant, "the subject token expires now; get a fresh one")
	}
	c := accessClaims{
		Iss: a.issuer, Sub: g.ClientID, Aud: a.issuer,
		ClientID: g.ClientID, CredentialID: g.ID, Kind: string(g.Kind),
		AppID: g.AppID, ConnectorID: g.ConnectorID, TrustID: g.ID,
	}
	if g.Subject != "" {
		c.Act = &actClaim{Sub: g.Subject, Iss: g.SubjectIssuer}
	}
	bind(&c, g.JKT)
	return a.sign(c, now, exp)
}

// authenticateGrant is Authenticate for a token minted through a grant.
func (a *Authority) authenticateGrant(ctx context.Context, c accessClaims) (*conncred.Principal, error) {
	box := a.grants.Load()
	if box == nil {
		return nil, conncred.Errorf(conncred.EUnauthenticated, "this token was minted through a workload federation trust, and federation is not enabled on this server")
	}
	g, err := box.c.CheckGrant(ctx, c.TrustID)
	if err != nil {
		return nil, err
	}
	if err := a.checkSource(ctx, grantCredential(g)); err != nil {
		return nil, err
	}
	return &conncred.Principal{
		Kind:         g.Kind,
		CredentialID: g.ID,
		ClientID:     g.ClientID,
		AppID:        g.AppID,
		ConnectorID:  g.ConnectorID,
		TokenID:      c.Jti,
		ExpiresAt:    time.Unix(c.Exp, 0).UTC(),
		Source:       conncred.SourceFrom(ctx),
		JKT:          boundTo(c),
	}, nil
}

// Record adds an audit event for another package's records (trusts): its
// id, time, actor, source and outcome are filled in as for the authority's
// own. It must never carry a secret.
func (a *Authority) Record(ctx context.Context, e conncred.AuditEvent) {
	a.record(ctx, e)
}

// Now returns the authority's clock's time at the store's precision, so
// another package's records compare with the authority's.
func (a *Authority) Now() time.Time { return a.now() }

// IsAudience reports whether aud names this server (its public host, issuer
// or token endpoint, as an assertion's aud may).
func (a *Authority) IsAudience(aud string) bool { return a.audiences[lower(aud)] }

// PageOptions validates a page request for another package's list; see
// listOptions.
func PageOptions(p PageRequest) (conncred.ListOptions, error) { return listOptions(p) }

// NextPage trims the extra record PageOptions asked for and returns the
// next page's token; see page.
func NextPage[T any](items []T, opt conncred.ListOptions, id func(T) string) ([]T, string) {
	return page(items, opt, id)
}
