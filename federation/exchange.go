package federation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// RFC 8693 values.
const (
	GrantTokenExchange   = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeIDToken     = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	// ErrInvalidTarget is RFC 8693 §2.2.2's error for an audience or
	// resource this server cannot issue a token for.
	ErrInvalidTarget = "invalid_target"
)

// allowedAlgs are the subject-token signature algorithms accepted: what the
// workload platforms use. Never none, never HMAC (a public key is not a
// shared secret).
var allowedAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

// maxSubjectTokenBytes bounds the subject token (real ones are 1-2 KiB).
const maxSubjectTokenBytes = 16 << 10

// ExchangeRequest is an RFC 8693 token request's parameters.
type ExchangeRequest struct {
	ClientID           string
	SubjectToken       string
	SubjectTokenType   string
	RequestedTokenType string
	Audience           string
	Resource           string
	ActorToken         string
	// JKT is the thumbprint of the key of the DPoP proof the request
	// carried (verified by package dpop), or "" for a Bearer token.
	JKT string
}

// ExchangeResult is a successful exchange.
type ExchangeResult struct {
	Token           authority.Token
	IssuedTokenType string
	TrustID         string
}

// Exchange verifies a workload's subject token against the trust its
// client_id names and mints an access token acting as the trust's principal.
// A refusal is an *authority.TokenError whose description says which check
// failed without quoting the trust's configuration.
func (s *Service) Exchange(ctx context.Context, req ExchangeRequest) (ExchangeResult, error) {
	claimed := req.ClientID
	if len(claimed) > 200 {
		claimed = claimed[:200]
	}
	res, t, subject, err := s.exchange(ctx, req)
	if err != nil {
		var te *authority.TokenError
		if !errors.As(err, &te) {
			s.cfg.Observer.TrustExchange(authority.OutcomeError, "")
		}
		if errors.As(err, &te) {
			s.cfg.Observer.TrustExchange(authority.OutcomeRefused, refusalCode(te.Code))
			ev := conncred.AuditEvent{Kind: authority.AuditTokenRefused, Outcome: "failure", Actor: claimed, Reason: te.Reason}
			if t != nil {
				ev.AppID, ev.ConnectorID, ev.CredentialID = t.AppID, t.ConnectorID, t.ID
			}
			s.auth.Record(ctx, ev)
		}
		return ExchangeResult{}, err
	}
	s.cfg.Observer.TrustExchange(authority.OutcomeIssued, "")
	s.touch(t.ID, s.auth.Now())
	s.auth.Record(ctx, conncred.AuditEvent{
		Kind: authority.AuditTokenIssued, Actor: t.ClientID, AppID: t.AppID, ConnectorID: t.ConnectorID, CredentialID: t.ID,
		Reason: "workload " + subject,
	})
	return res, nil
}

// refusalCode keeps a metric label within the codes the exchange returns.
func refusalCode(code string) string {
	switch code {
	case authority.ErrInvalidRequest, authority.ErrInvalidClient, authority.ErrInvalidGrant, ErrInvalidTarget, authority.ErrInvalidDPoPProof:
		return code
	}
	return "other"
}

func refuse(code, desc string) *authority.TokenError {
	return &authority.TokenError{Code: code, Description: desc, Reason: desc}
}

// exchange does the checks, cheapest first: the form, the trust (cached),
// the token's form, the issuer's keys (cached) and signature, the claims,
// then the condition.
func (s *Service) exchange(ctx context.Context, req ExchangeRequest) (ExchangeResult, *Trust, string, error) {
	switch {
	case req.SubjectToken == "":
		return ExchangeResult{}, nil, "", refuse(authority.ErrInvalidRequest, "subject_token is required: the workload's OIDC token")
	case req.SubjectTokenType != TokenTypeJWT && req.SubjectTokenType != TokenTypeIDToken:
		return ExchangeResult{}, nil, "", refuse(authority.ErrInvalidRequest, "subject_token_type must be "+TokenTypeJWT)
	case req.RequestedTokenType != "" && req.RequestedTokenType != TokenTypeAccessToken:
		return ExchangeResult{}, nil, "", refuse(authority.ErrInvalidRequest, "requested_token_type, if sent, must be "+TokenTypeAccessToken)
	case req.ActorToken != "":
		return ExchangeResult{}, nil, "", refuse(authority.ErrInvalidRequest, "actor_token is not supported (no delegation): send only the subject_token")
	case req.Audience != "" && !s.auth.IsAudience(req.Audience):
		return ExchangeResult{}, nil, "", refuse(ErrInvalidTarget, "audience must name this server ("+s.auth.Issuer()+") or be left out")
	case req.Resource != "" && !s.auth.IsAudience(strings.TrimSuffix(req.Resource, "/")):
		return ExchangeResult{}, nil, "", refuse(ErrInvalidTarget, "resource must be this server's URL ("+s.auth.Issuer()+") or be left out")
	case req.ClientID == "":
		return ExchangeResult{}, nil, "", refuse(authority.ErrInvalidRequest, "client_id is required: the workload federation trust's client id (<name>@<host>/wfe)")
	case !strings.HasSuffix(req.ClientID, "/"+SuffixTrust):
		return ExchangeResult{}, nil, "", refuse(authority.ErrInvalidClient, "client_id must be a workload federation trust's client id, ending in /wfe")
	case len(req.SubjectToken) > maxSubjectTokenBytes:
		return ExchangeResult{}, nil, "", refuse(authority.ErrInvalidRequest, fmt.Sprintf("subject_token is larger than %d bytes", maxSubjectTokenBytes))
	}
	e, err := s.cache.byClientID(ctx, req.ClientID)
	if err != nil {
		if conncred.ErrorCode(err) == conncred.ENotFound {
			return ExchangeResult{}, nil, "", &authority.TokenError{Code: authority.ErrInvalidClient, Description: "unknown client_id, or its trust has been deleted", Reason: "unknown trust"}
		}
		return ExchangeResult{}, nil, "", err
	}
	t := e.trust
	if t.DeletedAt != nil {
		return ExchangeResult{}, &t, "", &authority.TokenError{Code: authority.ErrInvalidClient, Description: "unknown client_id, or its trust has been deleted", Reason: "trust deleted (or its connector or app)"}
	}
	if t.RequireDPoP && req.JKT == "" {
		return ExchangeResult{}, &t, "", &authority.TokenError{Code: authority.ErrInvalidDPoPProof,
			Description: "this trust requires DPoP: send a DPoP header with a proof (RFC 9449) signed by the key the token is to be bound to",
			Reason:      "DPoP required, no proof"}
	}
	claims, std, err := s.verifySubject(ctx, t, req.SubjectToken)
	if err != nil {
		return ExchangeResult{}, &t, "", err
	}
	if e.cond == nil {
		return ExchangeResult{}, &t, "", refuse(authority.ErrInvalidGrant, "the trust's condition does not compile; an admin must fix it")
	}
	if err := e.cond.eval(claims); err != nil {
		reason := errConditionFalse.Error()
		if errors.Is(err, errConditionError) {
			reason = errConditionError.Error()
		}
		return ExchangeResult{}, &t, "", refuse(authority.ErrInvalidGrant, reason)
	}
	g := grantOf(t, std.Subject, std.Issuer)
	g.NotAfter = std.Expiry.Time()
	g.JKT = req.JKT
	tok, err := s.auth.MintGrant(ctx, g)
	if err != nil {
		return ExchangeResult{}, &t, "", err
	}
	return ExchangeResult{Token: tok, IssuedTokenType: TokenTypeAccessToken, TrustID: t.ID}, &t, std.Subject, nil
}

// verifySubject checks the subject token's signature with the trust
// issuer's keys and its registered claims, and returns its claim set.
func (s *Service) verifySubject(ctx context.Context, t Trust, raw string) (map[string]any, jwt.Claims, error) {
	tok, err := jwt.ParseSigned(raw, allowedAlgs)
	if err != nil {
		return nil, jwt.Claims{}, refuse(authority.ErrInvalidGrant, "subject_token is not a JWS-signed JWT with an allowed algorithm (RS256, ES256 or EdDSA)")
	}
	if len(tok.Headers) != 1 {
		return nil, jwt.Claims{}, refuse(authority.ErrInvalidGrant, "subject_token must have exactly one signature")
	}
	kid := tok.Headers[0].KeyID
	keys, err := s.keys.keys(ctx, t.Issuer, kid)
	switch {
	case errors.Is(err, errUnknownKey):
		return nil, jwt.Claims{}, &authority.TokenError{Code: authority.ErrInvalidGrant, Description: "subject_token is signed with an unknown key: its kid is not in the issuer's JWKS", Reason: "unknown key"}
	case err != nil:
		s.log.Warn("fetching a trust issuer's keys", "trust_id", t.ID, "err", err)
		return nil, jwt.Claims{}, &authority.TokenError{Code: authority.ErrInvalidGrant, Description: "the issuer's signing keys could not be fetched; retry later", Reason: "issuer keys unavailable"}
	}
	if kid == "" && len(keys) > 1 {
		return nil, jwt.Claims{}, refuse(authority.ErrInvalidGrant, "subject_token has no kid, and the issuer publishes several keys")
	}
	var std jwt.Claims
	var all map[string]any
	verified := false
	for _, k := range keys {
		if tok.Claims(k.Key, &std, &all) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return nil, jwt.Claims{}, &authority.TokenError{Code: authority.ErrInvalidGrant, Description: "subject_token's signature does not verify with the issuer's key", Reason: "bad signature"}
	}
	now := s.clock.Now()
	skew := s.cfg.ClockSkew
	switch {
	case std.Issuer != t.Issuer:
		return nil, std, refuse(authority.ErrInvalidGrant, "subject_token's iss is not the trust's issuer")
	case !audienceMatch(std.Audience, t.Audiences):
		return nil, std, refuse(authority.ErrInvalidGrant, "subject_token's aud does not name an audience the trust accepts")
	case std.Expiry == nil:
		return nil, std, refuse(authority.ErrInvalidGrant, "subject_token has no exp")
	case !now.Before(std.Expiry.Time().Add(skew)):
		return nil, std, refuse(authority.ErrInvalidGrant, "subject_token expired at "+std.Expiry.Time().UTC().Format(time.RFC3339))
	case std.NotBefore != nil && std.NotBefore.Time().After(now.Add(skew)):
		return nil, std, refuse(authority.ErrInvalidGrant, "subject_token is not valid yet (nbf is in the future)")
	case std.IssuedAt == nil:
		return nil, std, refuse(authority.ErrInvalidGrant, "subject_token has no iat")
	case std.IssuedAt.Time().After(now.Add(skew)):
		return nil, std, refuse(authority.ErrInvalidGrant, "subject_token's iat is in the future")
	case now.Sub(std.IssuedAt.Time()) > s.cfg.MaxSubjectTokenAge:
		return nil, std, refuse(authority.ErrInvalidGrant, fmt.Sprintf("subject_token was issued more than %s ago; get a fresh one", s.cfg.MaxSubjectTokenAge))
	case std.Subject == "":
		return nil, std, refuse(authority.ErrInvalidGrant, "subject_token has no sub")
	}
	return all, std, nil
}

func audienceMatch(got jwt.Audience, want []string) bool {
	for _, g := range got {
		for _, w := range want {
			if g == w {
				return true
			}
		}
	}
	return false
}
