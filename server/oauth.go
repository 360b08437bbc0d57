package server

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/dpop"
)

// oauthError marks an error returned by an OAuth endpoint (/auth/v1/token,
// /auth/v1/introspect): the one adapter renders it as RFC 6749 §5.2 JSON
// ({"error","error_description"}) instead of the API's google.rpc.Status.
type oauthError struct{ err error }

func (e *oauthError) Error() string { return e.err.Error() }
func (e *oauthError) Unwrap() error { return e.err }

// oauth marks err, if any, for rendering as an OAuth error.
func oauth(err error) error {
	if err == nil {
		return nil
	}
	return &oauthError{err: err}
}

// rateLimitedError is a token request refused by the failure limiter.
type rateLimitedError struct{ wait time.Duration }

func (e *rateLimitedError) Error() string { return "rate limited" }

// writeOAuthError renders an OAuth endpoint's error: a refusal by the
// authority (*authority.TokenError) as 400, or 401 for invalid_client; the
// limiter's refusal as 429 slow_down; an unavailable database as 503
// temporarily_unavailable; anything else as a logged 500 server_error.
func (s *Server) writeOAuthError(w http.ResponseWriter, r *http.Request, err error) {
	var te *authority.TokenError
	var rl *rateLimitedError
	var he *httpError
	var de *dpop.Error
	switch {
	case errors.As(err, &de):
		writeDPoPTokenError(w, de)
	case errors.As(err, &rl):
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(rl.wait.Seconds()+0.999))))
		writeOAuthStatus(w, http.StatusTooManyRequests, apitype.OAuthError{Error: "slow_down", ErrorDescription: "too many failed token requests from this address, or naming this client_id from it; retry after the time in Retry-After"})
	case errors.As(err, &te):
		st := http.StatusBadRequest
		if te.Code == authority.ErrInvalidClient {
			st = http.StatusUnauthorized
			w.Header().Set("WWW-Authenticate", `Bearer realm="conncred"`)
		}
		writeOAuthStatus(w, st, apitype.OAuthError{Error: te.Code, ErrorDescription: te.Description})
	case errors.As(err, &he) && he.rpc == rpcUnavailable:
		// The in-flight body budget is full: a passing overload.
		w.Header().Set("Retry-After", "1")
		writeOAuthStatus(w, http.StatusServiceUnavailable, apitype.OAuthError{Error: "temporarily_unavailable", ErrorDescription: he.msg})
	case conncred.ErrorCode(err) == conncred.EUnavailable:
		s.log.Warn("OAuth request: dependency unavailable", "request_id", requestID(r.Context()), "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "1")
		writeOAuthStatus(w, http.StatusServiceUnavailable, apitype.OAuthError{Error: "temporarily_unavailable", ErrorDescription: "the database is unavailable; retry shortly"})
	default:
		s.log.Error("OAuth request failed", "request_id", requestID(r.Context()), "path", r.URL.Path, "err", err)
		writeOAuthStatus(w, http.StatusInternalServerError, apitype.OAuthError{Error: "server_error", ErrorDescription: "internal error (request id " + requestID(r.Context()) + ")"})
	}
}

func writeOAuthStatus(w http.ResponseWriter, st int, e apitype.OAuthError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(st)
	_ = json.NewEncoder(w).Encode(e)
}

// readForm reads the token request's form; see readFormOf.
func (s *Server) readForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	return s.readFormOf(w, r, "the token request", "")
}

// readFormOf reads an application/x-www-form-urlencoded body, refusing other
// media types, oversized bodies and repeated parameters (RFC 6749 §3.2:
// parameters must not be included more than once) with invalid_request.
// what names the request in the errors, and want (if not empty) says what
// the body must hold, so each endpoint's message tells its own caller what
// to send.
func (s *Server) readFormOf(w http.ResponseWriter, r *http.Request, what, want string) (url.Values, error) {
	invalid := func(desc string) error {
		return &authority.TokenError{Code: authority.ErrInvalidRequest, Description: desc, Reason: desc}
	}
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, invalid(what + " must be application/x-www-form-urlencoded" + want)
	}
	if r.ContentLength > maxFormBytes {
		return nil, invalid(what + " body is larger than 64 KiB")
	}
	// Form bodies count against the server-wide in-flight budget too,
	// reserved before a byte is read (the length, or the form limit when
	// it is not declared).
	n := r.ContentLength
	if n < 0 {
		n = maxFormBytes
	}
	release, err := s.bodies.acquire(r.Context(), n)
	if err != nil {
		return nil, err
	}
	defer release()
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, invalid(what + " body is not a valid form of at most 64 KiB")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return nil, invalid("parameter " + strconv.Quote(truncate(k)) + " is repeated")
		}
	}
	return r.PostForm, nil
}
