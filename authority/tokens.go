package authority

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"

	"github.com/conncred/conncred"
	jose "github.com/go-jose/go-jose/v4/json"
)

// accessClaims is the claim set of an access token conncred mints.
type accessClaims struct {
	Iss          string `json:"iss"`
	Sub          string `json:"sub"`
	Aud          string `json:"aud"`
	Exp          int64  `json:"exp"`
	Iat          int64  `json:"iat"`
	Nbf          int64  `json:"nbf"`
	Jti          string `json:"jti"`
	ClientID     string `json:"client_id"`
	CredentialID string `json:"cid"`
	Kind         string `json:"kind"`
	AppID        string `json:"app_id,omitempty"`
	ConnectorID  string `json:"connector_id,omitempty"`
	// TrustID is set on tokens minted through a grant (a federation
	// trust): they are checked against it, not a credential (grant.go).
	TrustID string `json:"tid,omitempty"`
	// Act is the external subject the grant authenticated (RFC 8693 §4.1).
	Act *actClaim `json:"act,omitempty"`
	// Cnf binds the token to a DPoP key (binding.go).
	Cnf *cnfClaim `json:"cnf,omitempty"`
}

// actClaim is RFC 8693's act: who the token's subject is acting for.
type actClaim struct {
	Sub string `json:"sub"`
	Iss string `json:"iss,omitempty"`
}

type accessHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

// mint signs an access token for cred with the active key.
func (a *Authority) mint(cred conncred.Credential, now time.Time, jkt string) (Token, error) {
	exp := now.Add(a.cfg.TokenTTL)
	// A token never outlives the credential it was minted from.
	if cred.ExpiresAt != nil && cred.ExpiresAt.Before(exp) {
		exp = *cred.ExpiresAt
	}
	c := accessClaims{
		Iss: a.issuer, Sub: cred.ClientID, Aud: a.issuer,
		ClientID: cred.ClientID, CredentialID: cred.ID, Kind: string(cred.Kind),
		AppID: cred.AppID, ConnectorID: cred.ConnectorID,
	}
	bind(&c, jkt)
	return a.sign(c, now, exp)
}

// sign fills in claims' times and jti and signs them with the active key.
func (a *Authority) sign(claims accessClaims, now, exp time.Time) (Token, error) {
	k, ok := a.keys.active()
	if !ok {
		return Token{}, conncred.Errorf(conncred.EInternal, "no signing key")
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return Token{}, conncred.WrapError(conncred.EInternal, err, "could not make a token id")
	}
	claims.Exp, claims.Iat, claims.Nbf = exp.Unix(), now.Unix(), now.Unix()
	claims.Jti = hex.EncodeToString(jti[:])
	s, err := signJWS(func(msg []byte) []byte { return a.sigs.sign(k, msg) }, accessHeader{Alg: "EdDSA", Kid: k.kid, Typ: "at+jwt"}, claims)
	if err != nil {
		return Token{}, conncred.WrapError(conncred.EInternal, err, "could not sign the access token")
	}
	in := int(exp.Unix() - now.Unix())
	if in < 1 {
		in = 1
	}
	return Token{AccessToken: s, ExpiresIn: in, ExpiresAt: time.Unix(exp.Unix(), 0).UTC(), Bound: claims.Cnf != nil}, nil
}

// verifyAccessToken checks an access token's form, signature, issuer and
// expiry, but not its credential.
func (a *Authority) verifyAccessToken(ctx context.Context, token string, now time.Time) (accessClaims, error) {
	j, err := parseJWS(token)
	if err != nil {
		return accessClaims{}, conncred.Errorf(conncred.EUnauthenticated, "the bearer token is not a conncred access token (%v)", err)
	}
	k, ok := a.keys.lookup(ctx, j.header.Kid)
	if !ok || !a.sigs.token(k, j) {
		return accessClaims{}, conncred.Errorf(conncred.EUnauthenticated, "the bearer token's signature does not verify with this server's keys")
	}
	var c accessClaims
	if err := jose.Unmarshal(j.payload, &c); err != nil {
		return accessClaims{}, conncred.Errorf(conncred.EUnauthenticated, "the bearer token's claims are malformed")
	}
	if c.Iss != a.issuer {
		return accessClaims{}, conncred.Errorf(conncred.EUnauthenticated, "the bearer token was issued by %q, not this server", quoteID(c.Iss))
	}
	if now.Unix() >= c.Exp {
		return accessClaims{}, conncred.Errorf(conncred.EUnauthenticated, "the bearer token expired at %s; get a new one from /auth/v1/token", time.Unix(c.Exp, 0).UTC().Format(time.RFC3339))
	}
	if c.Nbf > now.Add(a.cfg.ClockSkew).Unix() {
		return accessClaims{}, conncred.Errorf(conncred.EUnauthenticated, "the bearer token is not valid yet")
	}
	return c, nil
}

// Authenticate verifies a bearer access token and returns the principal it
// stands for. The credential it was minted from is checked on every call
// (through a short-lived cache), so revoking or expiring the credential
// cuts off its tokens at once.
func (a *Authority) Authenticate(ctx context.Context, token string) (*conncred.Principal, error) {
	now := a.clock.Now()
	c, err := a.verifyAccessToken(ctx, token, now)
	if err != nil {
		return nil, err
	}
	if c.TrustID != "" {
		return a.authenticateGrant(ctx, c)
	}
	cred, err := a.usableCredential(ctx, c.CredentialID, now, "this token was minted from")
	if err != nil {
		return nil, err
	}
	if err := a.checkSource(ctx, cred); err != nil {
		return nil, err
	}
	return &conncred.Principal{
		Kind:         cred.Kind,
		CredentialID: cred.ID,
		ClientID:     cred.ClientID,
		AppID:        cred.AppID,
		ConnectorID:  cred.ConnectorID,
		TokenID:      c.Jti,
		ExpiresAt:    time.Unix(c.Exp, 0).UTC(),
		Source:       conncred.SourceFrom(ctx),
		JKT:          boundTo(c),
	}, nil
}

// Introspection is what GET /api/v1/auth/introspect reports of the caller.
type Introspection struct {
	Principal   conncred.Principal
	Roles       []string
	Permissions []string
}

// Introspect describes the caller.
func (a *Authority) Introspect(ctx context.Context) (Introspection, error) {
	p := conncred.PrincipalFrom(ctx)
	if p == nil {
		return Introspection{}, conncred.Errorf(conncred.EUnauthenticated, "authentication required")
	}
	if p.IsAdmin() {
		return a.introspection(ctx, p) // authorize.go: as its scoped roles make it
	}
	return Introspection{Principal: *p, Roles: []string{"connector"}, Permissions: []string{"auth:introspect", "credential:read:self"}}, nil
}

// TokenInfo is RFC 7662 introspection of an access token.
type TokenInfo struct {
	Active    bool
	ClientID  string
	Subject   string
	Issuer    string
	ExpiresAt time.Time
	IssuedAt  time.Time
	TokenID   string
	// JKT is the RFC 7638 thumbprint of the DPoP key the token is bound
	// to (its cnf.jkt), or "" for a Bearer token: RFC 9449 §6.2 has
	// introspection report it so a resource server can check proofs.
	JKT string
}

// IntrospectToken reports whether token is active (RFC 7662): validly
// signed, unexpired, and minted from a credential that is still usable.
// An admin may ask about any token; a connector only about tokens minted
// from its own credential. Another principal's token reads as inactive, as
// RFC 7662 §2.2 allows for a caller not entitled to know, so a connector
// learns nothing (not even that the token is live, nor an admin's client
// id) by probing. An inactive token says nothing more. A missing token is
// a *TokenError (invalid_request), as the endpoint answers in RFC 6749 form.
func (a *Authority) IntrospectToken(ctx context.Context, token string) (TokenInfo, error) {
	caller := conncred.PrincipalFrom(ctx)
	if caller == nil {
		return TokenInfo{}, conncred.Errorf(conncred.EUnauthenticated, "authentication required")
	}
	if token == "" {
		return TokenInfo{}, tokenError(ErrInvalidRequest, "the token parameter is required: send token=<access token> in an application/x-www-form-urlencoded body")
	}
	p, err := a.Authenticate(ctx, token)
	if err != nil {
		// EPermissionDenied: the token's credential may not be used from
		// here (its source networks); to this caller it is not active.
		if code := conncred.ErrorCode(err); code == conncred.EUnauthenticated || code == conncred.EPermissionDenied {
			return TokenInfo{Active: false}, nil
		}
		return TokenInfo{}, err
	}
	if !caller.IsAdmin() && caller.CredentialID != p.CredentialID {
		return TokenInfo{Active: false}, nil
	}
	c, err := a.verifyAccessToken(ctx, token, a.clock.Now())
	if err != nil {
		return TokenInfo{Active: false}, nil
	}
	return TokenInfo{
		Active: true, ClientID: p.ClientID, Subject: c.Sub, Issuer: c.Iss,
		ExpiresAt: time.Unix(c.Exp, 0).UTC(), IssuedAt: time.Unix(c.Iat, 0).UTC(), TokenID: c.Jti,
		JKT: boundTo(c),
	}, nil
}

func lower(s string) string { return strings.ToLower(s) }
