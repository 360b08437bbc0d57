package server

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/federation"
	"github.com/conncred/conncred/internal/hostport"
)

// maxFormBytes bounds a token request; real ones are under 2 KiB.
const maxFormBytes = 64 << 10

// handleToken is POST /auth/v1/token. Its errors are RFC 6749 JSON, not the
// API's error shape (see oauth), and it never logs the assertion.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) error {
	ip := hostOnly(conncred.SourceFrom(r.Context()))
	form, err := s.readForm(w, r)
	if err != nil {
		s.recordFailure("", ip)
		return oauth(err)
	}
	if form.Get("grant_type") == federation.GrantTokenExchange && s.cfg.Federation != nil {
		return s.handleTokenExchange(w, r, form, ip)
	}
	req := authority.TokenRequest{
		GrantType:     form.Get("grant_type"),
		ClientID:      form.Get("client_id"),
		AssertionType: form.Get("client_assertion_type"),
		Assertion:     form.Get("client_assertion"),
	}
	return s.grant(w, r, req.ClientID, ip, func(jkt string) (authority.Token, string, error) {
		req.JKT = jkt
		tok, err := s.auth.Exchange(r.Context(), req)
		return tok, "", err
	})
}

// grant runs one token grant behind what every grant shares: the
// failed-request limiter (admit first, then count the refusal or the
// success), the DPoP proof that binds the token, and the RFC 6749
// response. mint does the grant itself with the proof's key thumbprint
// ("" without a proof) and returns the token and, for RFC 8693, its
// issued_token_type.
func (s *Server) grant(w http.ResponseWriter, r *http.Request, clientID, ip string, mint func(jkt string) (authority.Token, string, error)) error {
	if s.limiter != nil {
		if wait, scope, ok := s.limiter.admit(clientID, ip); !ok {
			if s.cfg.Observer != nil {
				s.cfg.Observer.TokenRateLimited(scope)
			}
			return oauth(&rateLimitedError{wait: wait})
		}
	}
	jkt, err := s.tokenProof(r)
	if err != nil {
		s.recordFailure(clientID, ip)
		return oauth(err)
	}
	tok, issued, err := mint(jkt)
	if err != nil {
		var te *authority.TokenError
		if errors.As(err, &te) {
			s.recordFailure(clientID, ip)
		}
		return oauth(err)
	}
	if s.limiter != nil {
		s.limiter.succeed(clientID, ip)
	}
	noteClient(r.Context(), clientID) // authenticated by the grant
	w.Header().Set("Pragma", "no-cache")
	s.setNonce(w)
	return writeJSON(w, apitype.TokenResponse{AccessToken: tok.AccessToken, TokenType: tokenType(tok), ExpiresIn: tok.ExpiresIn, IssuedTokenType: issued})
}

func (s *Server) recordFailure(clientID, ip string) {
	if s.limiter != nil {
		s.limiter.fail(clientID, ip)
	}
}

// authenticated requires a valid bearer token (or a DPoP-bound token with
// its proof, dpop.go) and puts its principal in the request's context.
func (s *Server) authenticated(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.authenticate(r)
		if err != nil {
			return err
		}
		noteClient(r.Context(), p.ClientID)
		return h(w, r.WithContext(conncred.WithPrincipal(r.Context(), p)))
	}
}

// handleTokenIntrospect is RFC 7662 POST /auth/v1/introspect. Its request
// errors are RFC 6749 JSON like the token endpoint's; who may learn what of
// which token is the authority's rule.
func (s *Server) handleTokenIntrospect(w http.ResponseWriter, r *http.Request) error {
	form, err := s.readFormOf(w, r, "the introspection request ("+apitype.PathTokenIntrospect+")", " with token=<access token> (RFC 7662)")
	if err != nil {
		return oauth(err)
	}
	info, err := s.auth.IntrospectToken(r.Context(), form.Get("token"))
	if err != nil {
		var te *authority.TokenError
		if errors.As(err, &te) {
			return oauth(err)
		}
		return err
	}
	if !info.Active {
		return writeJSON(w, apitype.TokenIntrospection{Active: false})
	}
	out := apitype.TokenIntrospection{
		Active: true, ClientID: info.ClientID, Sub: info.Subject, Iss: info.Issuer,
		Exp: info.ExpiresAt.Unix(), Iat: info.IssuedAt.Unix(), Jti: info.TokenID, TokenType: "Bearer",
	}
	if info.JKT != "" {
		out.TokenType, out.Cnf = "DPoP", &apitype.Confirmation{JKT: info.JKT}
	}
	return writeJSON(w, out)
}

// handleIntrospect is ConductorOne's GET /api/v1/auth/introspect.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) error {
	in, err := s.auth.Introspect(r.Context())
	if err != nil {
		return err
	}
	p := in.Principal
	exp := p.ExpiresAt
	return writeJSON(w, apitype.IntrospectResponse{
		PrincipleID: p.CredentialID, UserID: "", Roles: in.Roles, Permissions: in.Permissions, Features: []string{},
		ClientID: p.ClientID, CredentialID: p.CredentialID, AppID: p.AppID, ConnectorID: p.ConnectorID, ExpiresAt: &exp,
	})
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "max-age=60")
	return writeJSONCached(w, map[string]any{"keys": s.auth.JWKS()})
}

// handleMetadata is RFC 8414 authorization server metadata. It lists only
// what is implemented: there is no authorization endpoint, so
// response_types_supported (REQUIRED by RFC 8414 §2, so present) is empty;
// a response type is a request to that endpoint, and "token" would claim
// the implicit grant.
//
// The introspection endpoint is authenticated by an access token in an
// Authorization: Bearer header, not by client authentication. RFC 8414 §2
// lets introspection_endpoint_auth_methods_supported name values of the
// IANA "OAuth Access Token Types" registry as well as of the "Token
// Endpoint Authentication Methods" one, so it says "Bearer", that
// registry's entry (RFC 6750). private_key_jwt would be false: the
// endpoint does not take a client assertion.
func (s *Server) handleMetadata(w http.ResponseWriter, r *http.Request) error {
	iss := s.auth.Issuer()
	return writeJSONCached(w, map[string]any{
		"issuer":                                iss,
		"token_endpoint":                        iss + apitype.PathToken,
		"jwks_uri":                              iss + apitype.PathJWKS,
		"introspection_endpoint":                iss + apitype.PathTokenIntrospect,
		"grant_types_supported":                 []string{"client_credentials"},
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"EdDSA"},
		"introspection_endpoint_auth_methods_supported":    []string{"Bearer"},
		"response_types_supported":                         []string{},
	})
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) error {
	if err := s.auth.Ready(r.Context()); err != nil {
		return conncred.WrapError(conncred.EUnavailable, err, "the database is not answering")
	}
	return writeJSON(w, apitype.Empty{})
}

// writeJSONCached writes public, cacheable JSON (keys and metadata).
func writeJSONCached(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return conncred.WrapError(conncred.EInternal, err, "encoding the response")
	}
	w.Header().Set("Content-Type", "application/json")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "max-age=300")
	}
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// hostOnly is the IP of a request's source address, without the port.
func hostOnly(addr string) string { return hostport.Host(addr) }
