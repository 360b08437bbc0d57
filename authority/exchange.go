package authority

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/hostport"
	"github.com/conncred/conncred/secret"
	jose "github.com/go-jose/go-jose/v4/json"
)

// OAuth 2.0 values of the token request.
const (
	GrantClientCredentials = "client_credentials"
	AssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// RFC 6749 §5.2 error codes.
const (
	ErrInvalidRequest       = "invalid_request"
	ErrInvalidClient        = "invalid_client"
	ErrInvalidGrant         = "invalid_grant"
	ErrUnsupportedGrantType = "unsupported_grant_type"
)

// TokenRequest is a token request's parameters.
type TokenRequest struct {
	GrantType     string
	ClientID      string
	AssertionType string
	Assertion     string
	// JKT is the thumbprint of the key of the DPoP proof the request
	// carried, verified by package dpop; "" for a Bearer token.
	JKT string
}

// Token is an issued access token.
type Token struct {
	AccessToken string
	ExpiresIn   int // seconds
	ExpiresAt   time.Time
	// Bound is set when the token carries cnf.jkt (token_type DPoP).
	Bound bool
}

// TokenError is a refused token request: an RFC 6749 error code and a
// description that tells the client what to fix. Descriptions never say
// whether an unknown client id exists, and never quote the assertion.
type TokenError struct {
	Code        string
	Description string
	// Reason is the precise cause for the audit trail and logs; it may say
	// more than Description (e.g. "unknown client id").
	Reason string
}

func (e *TokenError) Error() string { return e.Code + ": " + e.Description }

func tokenError(code, desc string) *TokenError {
	return &TokenError{Code: code, Description: desc, Reason: desc}
}

// RefusedRevoked is the reason (and description) of an exchange refused
// because the credential is revoked: an audit sink matches it to tell that
// a stale connector is still trying (package webhook).
const RefusedRevoked = "this credential has been revoked"

// errAuthFailed is the one answer for an unknown client id and for a bad
// signature, so the answer does not tell a caller without the key whether a
// client id exists.
const errAuthFailed = "client authentication failed: unknown client_id or the assertion's signature does not verify with its key"

// Exchange authenticates a client by its signed assertion (RFC 7523 client
// authentication with grant_type=client_credentials) and mints an access
// token. A refusal is a *TokenError; a store failure is a *conncred.Error
// (EUnavailable when the database is down).
func (a *Authority) Exchange(ctx context.Context, req TokenRequest) (Token, error) {
	tok, cred, claimed, err := a.exchange(ctx, req)
	a.obs.TokenExchange(exchangeOutcome(err))
	if err != nil {
		if te, ok := err.(*TokenError); ok {
			ev := conncred.AuditEvent{Kind: AuditTokenRefused, Outcome: "failure", Actor: claimed, Reason: te.Reason}
			if cred != nil {
				ev.AppID, ev.ConnectorID, ev.CredentialID = cred.AppID, cred.ConnectorID, cred.ID
			}
			a.record(ctx, ev)
		}
		return Token{}, err
	}
	a.lastUsed.touch(cred.ID, cred.CreatedAt, a.now())
	a.record(ctx, conncred.AuditEvent{Kind: AuditTokenIssued, Actor: cred.ClientID, AppID: cred.AppID, ConnectorID: cred.ConnectorID, CredentialID: cred.ID})
	return tok, nil
}

// exchange does the checks, cheapest first, so a flood of junk costs little:
// request form, assertion form and claims, then the credential look-up and
// signature, then the replay record (the one write).
func (a *Authority) exchange(ctx context.Context, req TokenRequest) (Token, *conncred.Credential, string, error) {
	claimed := truncateActor(req.ClientID)
	if req.GrantType == "" {
		return Token{}, nil, claimed, tokenError(ErrInvalidRequest, "grant_type is required")
	}
	if req.GrantType != GrantClientCredentials {
		return Token{}, nil, claimed, tokenError(ErrUnsupportedGrantType, "grant_type must be client_credentials")
	}
	if req.AssertionType != AssertionTypeJWTBearer {
		return Token{}, nil, claimed, tokenError(ErrInvalidRequest, "client_assertion_type must be "+AssertionTypeJWTBearer)
	}
	if req.Assertion == "" {
		return Token{}, nil, claimed, tokenError(ErrInvalidRequest, "client_assertion is required")
	}
	jws, err := parseJWS(req.Assertion)
	if err != nil {
		return Token{}, nil, claimed, tokenError(ErrInvalidClient, "client_assertion is malformed: "+err.Error())
	}
	cl, err := parseClaims(jws.payload)
	if err != nil {
		return Token{}, nil, claimed, err
	}
	if cl.Iss == "" || cl.Iss != cl.Sub {
		return Token{}, nil, claimed, tokenError(ErrInvalidClient, "client_assertion iss and sub must both be the client_id")
	}
	if req.ClientID != "" && req.ClientID != cl.Iss {
		return Token{}, nil, claimed, tokenError(ErrInvalidClient, "client_id does not match the assertion's iss and sub")
	}
	claimed = truncateActor(cl.Iss)
	if _, err := secret.ParseClientID(cl.Iss); err != nil {
		return Token{}, nil, claimed, tokenError(ErrInvalidClient, "client_id is not of the form <name>@<host>/<suffix>")
	}
	if err := a.checkAudience(cl.Aud); err != nil {
		return Token{}, nil, claimed, err
	}
	now := a.clock.Now()
	exp, err := a.checkTimes(cl, now)
	if err != nil {
		return Token{}, nil, claimed, err
	}

	cred, err := a.creds.byClientID(ctx, cl.Iss)
	if err != nil {
		if conncred.ErrorCode(err) == conncred.ENotFound {
			return Token{}, nil, claimed, &TokenError{Code: ErrInvalidClient, Description: errAuthFailed, Reason: "unknown client_id"}
		}
		return Token{}, nil, claimed, err
	}
	if !a.sigs.credential(cred.PublicKey, jws) {
		return Token{}, &cred, claimed, &TokenError{Code: ErrInvalidClient, Description: errAuthFailed, Reason: "bad signature"}
	}
	// The caller holds the key, so it may learn the credential's state.
	if cred.DeletedAt != nil {
		return Token{}, &cred, claimed, tokenError(ErrInvalidClient, RefusedRevoked)
	}
	if cred.ExpiresAt != nil && !now.Before(*cred.ExpiresAt) {
		te := tokenError(ErrInvalidClient, "this credential expired at "+cred.ExpiresAt.UTC().Format(time.RFC3339))
		te.Reason = "expired credential used"
		return Token{}, &cred, claimed, te
	}
	// The caller holds the key; where it may use it from is checked before
	// the replay record, so a refused assertion does not burn a record.
	if err := a.checkSource(ctx, cred); err != nil {
		if code := conncred.ErrorCode(err); code != conncred.EPermissionDenied {
			return Token{}, &cred, claimed, err
		}
		te := tokenError(ErrInvalidClient, conncred.ErrorMessage(err))
		te.Reason = "source address not allowed"
		return Token{}, &cred, claimed, te
	}
	if err := a.checkBinding(ctx, cred, req.JKT); err != nil {
		return Token{}, &cred, claimed, err
	}
	// The replay record lives as long as the assertion could be accepted.
	if err := a.store.UseAssertion(ctx, replayKey(exp, cl.Iss, cl.Jti, jws), exp.Add(a.cfg.ClockSkew)); err != nil {
		if conncred.ErrorCode(err) == conncred.EConflict {
			return Token{}, &cred, claimed, tokenError(ErrInvalidClient, "this client_assertion has already been used; sign a new assertion (with a fresh nonce) for every token request")
		}
		return Token{}, &cred, claimed, err
	}
	a.obs.ReplayWritten()
	tok, err := a.mint(cred, now, req.JKT)
	if err != nil {
		return Token{}, &cred, claimed, err
	}
	return tok, &cred, claimed, nil
}

// checkAudience accepts aud as a string or an array naming one of this
// server's audiences: go-jose v2 clients send ["host"], v4 clients "host".
func (a *Authority) checkAudience(raw jose.RawMessage) error {
	want := "client_assertion aud must be " + a.audienceHint()
	if len(raw) == 0 {
		return tokenError(ErrInvalidClient, want)
	}
	var one string
	if err := jose.Unmarshal(raw, &one); err == nil {
		if a.audiences[lower(one)] {
			return nil
		}
		return tokenError(ErrInvalidClient, want)
	}
	var many []string
	if err := jose.Unmarshal(raw, &many); err != nil || len(many) == 0 || len(many) > 8 {
		return tokenError(ErrInvalidClient, want)
	}
	for _, v := range many {
		if a.audiences[lower(v)] {
			return nil
		}
	}
	return tokenError(ErrInvalidClient, want)
}

func (a *Authority) audienceHint() string {
	return fmt.Sprintf("%q (the public host without port)", hostport.Host(a.cfg.PublicHost))
}

// replayKey names an assertion for the replay record. Official clients put
// a random nonce in the signed header; the key is then the client id, the
// nonce and any jti (from the parsed claims). Without a nonce it is the signature itself: Ed25519
// signatures are deterministic and Go refuses malleated ones, and the strict
// base64 decoder refuses alternative spellings, so one signed assertion has
// one key.
//
// The key starts with the assertion's exp in seconds, zero-padded so that
// keys sort by it. exp is signed, so every copy of one assertion still has
// one key, and the records of a busy server are written near each other:
// with hashes alone each insert lands on a random page of a table that
// holds rate × lifetime records, and measured with 1,000,000 of them in
// SQLite that doubled the cost of the insert (52 µs against 29 µs).
func replayKey(exp time.Time, clientID, jti string, j *compactJWS) string {
	h := sha256.New()
	if j.header.Nonce != "" {
		h.Write([]byte("nonce\x00" + clientID + "\x00" + j.header.Nonce + "\x00"))
	} else {
		h.Write([]byte("sig\x00"))
		h.Write(j.sig)
	}
	if jti != "" {
		h.Write([]byte("\x00jti\x00" + jti))
	}
	key := make([]byte, 0, 12+2*sha256.Size)
	key = fmt.Appendf(key, "%011d.", exp.Unix())
	return string(hex.AppendEncode(key, h.Sum(nil)))
}

// truncateActor bounds a caller-supplied client id before it is recorded.
func truncateActor(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}
