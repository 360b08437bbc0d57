package server

import (
	"errors"
	"net/http"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/dpop"
)

// DPoP (RFC 9449) on the wire: the DPoP request header carries a proof,
// Authorization: DPoP <token> a bound token, DPoP-Nonce the server's nonce,
// and refusals are RFC 9449 errors (§5 at the token endpoint, §7.1 in a
// WWW-Authenticate: DPoP challenge elsewhere). Every rule is package
// dpop's or the authority's; this file only moves headers.

// Header names of RFC 9449.
const (
	headerDPoP      = "DPoP"
	headerDPoPNonce = "DPoP-Nonce"
)

// dpopAlgs is the challenge's algs parameter (RFC 9449 §7.1).
const dpopAlgs = dpop.AlgEdDSA + " " + dpop.AlgES256

// requestURLs are the URLs a proof's htu may name for r: only the public
// URL clients know the server by (its issuer) with the request's path. The
// URL the request arrived at is not accepted: it is built from the Host
// header, which the sender chooses, so accepting it would let a proof made
// for another server (captured there with its token) be replayed here by
// naming that server's host. Behind a proxy or a port mapping, the public
// host is what clients sign for.
func (s *Server) requestURLs(r *http.Request) []string {
	return []string{s.auth.Issuer() + r.URL.Path}
}

// tokenProof checks the DPoP proof of a token request, if it carries one,
// and returns the thumbprint the token is to be bound to ("" without a
// proof, or on a server without DPoP, which then issues Bearer tokens as
// RFC 9449 §5 allows).
func (s *Server) tokenProof(r *http.Request) (string, error) {
	proofs := r.Header.Values(headerDPoP)
	if s.cfg.DPoP == nil || len(proofs) == 0 {
		return "", nil
	}
	return s.cfg.DPoP.Check(r.Context(), dpop.Request{Proofs: proofs, Method: r.Method, URLs: s.requestURLs(r)})
}

// tokenType is the token_type of a token response.
func tokenType(t authority.Token) string {
	if t.Bound {
		return "DPoP"
	}
	return "Bearer"
}

// setNonce sends the current nonce, when the server uses nonces, so a
// client has it for its next proof (RFC 9449 §8.2).
func (s *Server) setNonce(w http.ResponseWriter) {
	if s.cfg.DPoP == nil {
		return
	}
	if n := s.cfg.DPoP.Nonce(); n != "" {
		w.Header().Set(headerDPoPNonce, n)
	}
}

// dpopChallenge is a protected resource's refusal of a DPoP-related
// request: 401 with a WWW-Authenticate: DPoP challenge naming the error.
type dpopChallenge struct {
	code, desc, nonce string
}

func (e *dpopChallenge) Error() string { return e.code + ": " + e.desc }

// header is the challenge. The description is the server's own text;
// quotes and backslashes are dropped so it stays one quoted-string.
func (e *dpopChallenge) header() string {
	desc := strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < ' ' {
			return -1
		}
		return r
	}, e.desc)
	return `DPoP algs="` + dpopAlgs + `", error="` + e.code + `", error_description="` + desc + `"`
}

// write sets the challenge's headers.
func (e *dpopChallenge) write(h http.Header) {
	h.Set("WWW-Authenticate", e.header())
	if e.nonce != "" {
		h.Set(headerDPoPNonce, e.nonce)
	}
}

// authenticate establishes the principal of a call to the API or the
// BatonService from its Authorization header: a Bearer token, or a DPoP
// token with a proof by its key. A bound token sent as Bearer is refused,
// so a stolen bound token alone is useless.
func (s *Server) authenticate(r *http.Request) (*conncred.Principal, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	isDPoP := strings.EqualFold(scheme, "dpop")
	if !ok || token == "" || (!isDPoP && !strings.EqualFold(scheme, "bearer")) {
		return nil, conncred.Errorf(conncred.EUnauthenticated, "this endpoint needs an Authorization: Bearer <access token> (or DPoP <access token> with a DPoP proof) header; get a token from POST /auth/v1/token")
	}
	if isDPoP && s.cfg.DPoP == nil {
		return nil, conncred.Errorf(conncred.EUnauthenticated, "DPoP is not enabled on this server: send Authorization: Bearer <access token>")
	}
	p, err := s.auth.Authenticate(r.Context(), token)
	if err != nil {
		if isDPoP && conncred.ErrorCode(err) == conncred.EUnauthenticated {
			return nil, &dpopChallenge{code: "invalid_token", desc: conncred.ErrorMessage(err)}
		}
		return nil, err
	}
	switch {
	case !isDPoP && p.JKT != "":
		return nil, &dpopChallenge{code: "invalid_token", desc: "this access token is bound to a DPoP key: send it as Authorization: DPoP <access token> with a DPoP proof signed by that key"}
	case isDPoP && p.JKT == "":
		return nil, &dpopChallenge{code: "invalid_token", desc: "this access token is not bound to a DPoP key: send it as Authorization: Bearer <access token>"}
	case isDPoP:
		_, err := s.cfg.DPoP.Check(r.Context(), dpop.Request{
			Proofs: r.Header.Values(headerDPoP), Method: r.Method, URLs: s.requestURLs(r),
			AccessToken: token, JKT: p.JKT,
		})
		var de *dpop.Error
		if errors.As(err, &de) {
			return nil, &dpopChallenge{code: de.Code, desc: de.Description, nonce: de.Nonce}
		}
		if err != nil {
			return nil, err
		}
	}
	return p, nil
}

// writeDPoPTokenError renders a refused proof at the token endpoint
// (RFC 9449 §5): 400 with the error in the body and, for use_dpop_nonce,
// the nonce to use in DPoP-Nonce.
func writeDPoPTokenError(w http.ResponseWriter, e *dpop.Error) {
	if e.Nonce != "" {
		w.Header().Set(headerDPoPNonce, e.Nonce)
	}
	writeOAuthStatus(w, http.StatusBadRequest, apitype.OAuthError{Error: e.Code, ErrorDescription: e.Description})
}

// writeDPoPChallenge renders a dpopChallenge as the API's error.
func (s *Server) writeDPoPChallenge(w http.ResponseWriter, e *dpopChallenge) {
	e.write(w.Header())
	s.writeStatus(w, rpcUnauthenticated, e.desc)
}

// setChallenge sets err's challenge headers, if it is a dpopChallenge, for
// a BatonService refusal (connect writes its own body).
func setChallenge(err error, h http.Header) {
	var dc *dpopChallenge
	if errors.As(err, &dc) {
		dc.write(h)
	}
}
