package authority

import (
	"strings"
	"time"

	"github.com/conncred/conncred"
)

// Observer receives the authority's measurements, for metrics. The
// authority calls it on hot paths (every exchange, every cache look-up), so
// an implementation must be cheap and safe for concurrent use, and must not
// block. Every string it is given comes from a fixed set (the Outcome* and
// Reason* constants, the Job* names): never a client id, token or other
// caller-supplied text, so an implementation may use them as metric labels.
//
// It is an interface, not a Prometheus type, so that the authority stays
// free of any metrics library (package metrics implements it).
type Observer interface {
	// TokenExchange is called once per Exchange with its outcome and, for
	// a refusal or an error, its reason (RefusalReasons; "" when issued).
	TokenExchange(outcome, reason string)
	// CacheLookup is called on every credential look-up for authentication
	// (token exchange and bearer check): hit when the cache answered.
	CacheLookup(hit bool)
	// ReplayWritten is called when an assertion's replay record is stored.
	ReplayWritten()
	// ReplaySwept is called after each sweep with the records it deleted.
	ReplaySwept(n int)
	// LastUsedFlush is called after lastUsedAt updates were written: how
	// many credentials, and how long the oldest of them had waited since
	// its use was recorded (the most lastUsedAt lagged behind).
	LastUsedFlush(credentials int, lag time.Duration)
	// BackgroundRun is called after each run of a background job (Job*)
	// with its wall time and error (nil: it succeeded).
	BackgroundRun(job string, took time.Duration, err error)
}

// Outcomes of a token exchange.
const (
	OutcomeIssued  = "issued"
	OutcomeRefused = "refused" // a *TokenError: the client must change something
	OutcomeError   = "error"   // the server failed (store unavailable, internal)
)

// Reasons a token exchange is refused or fails. The set is closed, so that
// metrics labelled by it stay bounded whatever callers send.
const (
	ReasonInvalidRequest       = "invalid_request"        // missing or wrong form parameters
	ReasonUnsupportedGrantType = "unsupported_grant_type" // grant_type is not client_credentials
	ReasonMalformed            = "malformed_assertion"    // not a compact EdDSA JWS with a JSON claim set
	ReasonClientID             = "bad_client_id"          // iss/sub/client_id disagree or are malformed
	ReasonAudience             = "bad_audience"           // aud does not name this server
	ReasonAssertionTime        = "bad_assertion_time"     // exp/nbf/iat missing, expired or out of the window
	ReasonUnknownClient        = "unknown_client"         // no credential with that client id
	ReasonBadSignature         = "bad_signature"          // the credential's key does not verify it
	ReasonRevoked              = "credential_revoked"     //
	ReasonExpired              = "credential_expired"     //
	ReasonReplayed             = "assertion_replayed"     // the assertion was used before
	ReasonSourceNotAllowed     = "source_not_allowed"     // the credential may not be used from this address (SetSourceGuard)
	ReasonOther                = "other"                  // a refusal not named above (a new check)
	ReasonUnavailable          = "store_unavailable"      // OutcomeError: the database did not answer
	ReasonInternal             = "internal"               // OutcomeError: anything else
)

// RefusalReasons lists every reason an OutcomeRefused carries, and
// ErrorReasons every reason of an OutcomeError, so a metrics implementation
// can show each at zero before it first happens.
var (
	RefusalReasons = []string{
		ReasonInvalidRequest, ReasonUnsupportedGrantType, ReasonMalformed, ReasonClientID,
		ReasonAudience, ReasonAssertionTime, ReasonUnknownClient, ReasonBadSignature,
		ReasonRevoked, ReasonExpired, ReasonReplayed, ReasonSourceNotAllowed, ReasonOther,
	}
	ErrorReasons = []string{ReasonUnavailable, ReasonInternal}
)

// Background jobs, for Observer.BackgroundRun.
const (
	JobReplaySweep   = "replay_sweep"
	JobLastUsedFlush = "last_used_flush"
	JobAuditFlush    = "audit_flush"
	JobKeyRefresh    = "key_refresh"
)

// Jobs lists the background jobs.
var Jobs = []string{JobReplaySweep, JobLastUsedFlush, JobAuditFlush, JobKeyRefresh}

// nopObserver is the default Observer: it does nothing.
type nopObserver struct{}

func (nopObserver) TokenExchange(string, string)               {}
func (nopObserver) CacheLookup(bool)                           {}
func (nopObserver) ReplayWritten()                             {}
func (nopObserver) ReplaySwept(int)                            {}
func (nopObserver) LastUsedFlush(int, time.Duration)           {}
func (nopObserver) BackgroundRun(string, time.Duration, error) {}

// exchangeOutcome classifies Exchange's result for the Observer.
func exchangeOutcome(err error) (outcome, reason string) {
	if err == nil {
		return OutcomeIssued, ""
	}
	if te, ok := err.(*TokenError); ok {
		return OutcomeRefused, refusalReason(te)
	}
	if conncred.ErrorCode(err) == conncred.EUnavailable {
		return OutcomeError, ReasonUnavailable
	}
	return OutcomeError, ReasonInternal
}

// refusalReasons maps the start of a TokenError's Reason to its metric
// reason, first match wins. The Reasons are the texts written in
// exchange.go, claims.go and jws.go; a new refusal there that matches none
// of these is counted as ReasonOther (and TestRefusalReasons should then
// gain a case and this table a line).
var refusalReasons = []struct{ prefix, reason string }{
	{"unknown client_id", ReasonUnknownClient},
	{"bad signature", ReasonBadSignature},
	{"this credential has been revoked", ReasonRevoked},
	{"expired credential used", ReasonExpired},
	{"this client_assertion has already been used", ReasonReplayed},
	{"source address not allowed", ReasonSourceNotAllowed},
	{"client_assertion aud", ReasonAudience},
	{"client_assertion is malformed", ReasonMalformed},
	{"client_assertion claims", ReasonMalformed},
	{"client_assertion iss and sub", ReasonClientID},
	{"client_id ", ReasonClientID},
	{"client_assertion must have exp", ReasonAssertionTime},
	{"client_assertion exp", ReasonAssertionTime},
	{"client_assertion nbf", ReasonAssertionTime},
	{"client_assertion iat", ReasonAssertionTime},
	{"client_assertion expired", ReasonAssertionTime},
	{"client_assertion is not valid before", ReasonAssertionTime},
	{"client_assertion lifetime", ReasonAssertionTime},
}

// refusalReason maps a refusal to one of RefusalReasons.
func refusalReason(te *TokenError) string {
	switch te.Code {
	case ErrUnsupportedGrantType:
		return ReasonUnsupportedGrantType
	case ErrInvalidRequest:
		return ReasonInvalidRequest
	}
	for _, r := range refusalReasons {
		if strings.HasPrefix(te.Reason, r.prefix) {
			return r.reason
		}
	}
	return ReasonOther
}
