package server

import (
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/internal/hostport"
)

// maxFormBytes bounds a token request; real ones are under 2 KiB.
const maxFormBytes = 64 << 10

// handleToken is POST /auth/v1/token. Its errors are RFC 6749 JSON, not the
// API's error shape, and it never logs the assertion.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) error {
	source := conncred.SourceFrom(r.Context())
	ip := hostOnly(source)
	form, oerr := s.readForm(w, r)
	if oerr != nil {
		s.recordFailure("", ip)
		s.writeOAuth(w, http.StatusBadRequest, oerr)
		return nil
	}
	req := authority.TokenRequest{
		GrantType:     form.Get("grant_type"),
		ClientID:      form.Get("client_id"),
		AssertionType: form.Get("client_assertion_type"),
		Assertion:     form.Get("client_assertion"),
	}
	if s.limiter != nil {
		if wait, limited := s.limiter.limited(req.ClientID, ip); limited {
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds()+0.999)))
			s.writeOAuthStatus(w, http.StatusTooManyRequests, apitype.OAuthError{Error: "slow_down", ErrorDescription: "too many failed token requests from this client or address; retry after the time in Retry-After"})
			return nil
		}
	}
	tok, err := s.auth.Exchange(r.Context(), req)
	if err != nil {
		var te *authority.TokenError
		if ok := asTokenError(err, &te); ok {
			s.recordFailure(req.ClientID, ip)
			st := http.StatusBadRequest
			if te.Code == authority.ErrInvalidClient {
				st = http.StatusUnauthorized
				w.Header().Set("WWW-Authenticate", `Bearer realm="conncred"`)
			}
			s.writeOAuthStatus(w, st, apitype.OAuthError{Error: te.Code, ErrorDescription: te.Description})
			return nil
		}
		if conncred.ErrorCode(err) == conncred.EUnavailable {
			s.log.Warn("token request: dependency unavailable", "request_id", requestID(r.Context()), "err", err)
			w.Header().Set("Retry-After", "1")
			s.writeOAuthStatus(w, http.StatusServiceUnavailable, apitype.OAuthError{Error: "temporarily_unavailable", ErrorDescription: "the database is unavailable; retry shortly"})
			return nil
		}
		s.log.Error("token request failed", "request_id", requestID(r.Context()), "err", err)
		s.writeOAuthStatus(w, http.StatusInternalServerError, apitype.OAuthError{Error: "server_error", ErrorDescription: "internal error (request id " + requestID(r.Context()) + ")"})
		return nil
	}
	w.Header().Set("Pragma", "no-cache")
	return writeJSON(w, apitype.TokenResponse{AccessToken: tok.AccessToken, TokenType: "Bearer", ExpiresIn: tok.ExpiresIn})
}

func asTokenError(err error, te **authority.TokenError) bool {
	t, ok := err.(*authority.TokenError)
	if ok {
		*te = t
	}
	return ok
}

func (s *Server) recordFailure(clientID, ip string) {
	if s.limiter != nil {
		s.limiter.fail(clientID, ip)
	}
}

// readForm reads the token request's form; see readFormOf.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request) (url.Values, *apitype.OAuthError) {
	return s.readFormOf(w, r, "the token request", "")
}

// readFormOf reads an application/x-www-form-urlencoded body, refusing other
// media types, oversized bodies and repeated parameters (RFC 6749 §3.2:
// parameters must not be included more than once). what names the request
// in the errors, and want (if not empty) says what the body must hold, so
// each endpoint's message tells its own caller what to send.
func (s *Server) readFormOf(w http.ResponseWriter, r *http.Request, what, want string) (url.Values, *apitype.OAuthError) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, &apitype.OAuthError{Error: authority.ErrInvalidRequest, ErrorDescription: what + " must be application/x-www-form-urlencoded" + want}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, &apitype.OAuthError{Error: authority.ErrInvalidRequest, ErrorDescription: what + " body is not a valid form of at most 64 KiB"}
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return nil, &apitype.OAuthError{Error: authority.ErrInvalidRequest, ErrorDescription: "parameter " + strconv.Quote(truncate(k)) + " is repeated"}
		}
	}
	return r.PostForm, nil
}

func (s *Server) writeOAuth(w http.ResponseWriter, st int, e *apitype.OAuthError) {
	s.writeOAuthStatus(w, st, *e)
}

func (s *Server) writeOAuthStatus(w http.ResponseWriter, st int, e apitype.OAuthError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(st)
	_ = json.NewEncoder(w).Encode(e)
}

// authenticated requires a valid bearer token and puts its principal in the
// request's context.
func (s *Server) authenticated(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
			return conncred.Errorf(conncred.EUnauthenticated, "this endpoint needs an Authorization: Bearer <access token> header; get a token from POST /auth/v1/token")
		}
		p, err := s.auth.Authenticate(r.Context(), strings.TrimSpace(token))
		if err != nil {
			return err
		}
		return h(w, r.WithContext(conncred.WithPrincipal(r.Context(), p)))
	}
}

// handleTokenIntrospect is RFC 7662 POST /auth/v1/introspect. Its request
// errors are RFC 6749 JSON like the token endpoint's; who may learn what of
// which token is the authority's rule.
func (s *Server) handleTokenIntrospect(w http.ResponseWriter, r *http.Request) error {
	form, oerr := s.readFormOf(w, r, "the introspection request ("+apitype.PathTokenIntrospect+")", " with token=<access token> (RFC 7662)")
	if oerr != nil {
		s.writeOAuth(w, http.StatusBadRequest, oerr)
		return nil
	}
	info, err := s.auth.IntrospectToken(r.Context(), form.Get("token"))
	if err != nil {
		var te *authority.TokenError
		if asTokenError(err, &te) {
			s.writeOAuthStatus(w, http.StatusBadRequest, apitype.OAuthError{Error: te.Code, ErrorDescription: te.Description})
			return nil
		}
		return err
	}
	if !info.Active {
		return writeJSON(w, apitype.TokenIntrospection{Active: false})
	}
	return writeJSON(w, apitype.TokenIntrospection{
		Active: true, ClientID: info.ClientID, Sub: info.Subject, Iss: info.Issuer,
		Exp: info.ExpiresAt.Unix(), Iat: info.IssuedAt.Unix(), Jti: info.TokenID, TokenType: "Bearer",
	})
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
