package authority

import (
	"fmt"
	"time"

	// jose is go-jose's fork of encoding/json, made for JOSE: member names
	// match exactly and a name given twice in any object is an error.
	// encoding/json matches names case-insensitively, so it would fill
	// "alg" from "ALG" and "aud" from "Aud"; RFC 7515 §4 and RFC 7519 §4
	// names are case-sensitive, and a verifier that folds case reads a
	// different token than the one another library signed or checked.
	jose "github.com/go-jose/go-jose/v4/json"

	"github.com/conncred/conncred/internal/compact"
)

// assertionClaims is the claim set of a client assertion. The NumericDate
// claims stay raw until checkTimes reads them, so that a claim of the
// wrong JSON type is refused by name rather than coerced (encoding/json
// turns the string "99999999999" into a json.Number without complaint).
type assertionClaims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud jose.RawMessage `json:"aud"`
	Exp jose.RawMessage `json:"exp"`
	Nbf jose.RawMessage `json:"nbf"`
	Iat jose.RawMessage `json:"iat"`
	Jti string          `json:"jti"`
}

// parseClaims decodes an assertion's claim set with exact-case member names
// and no name given twice at any depth.
func parseClaims(payload []byte) (assertionClaims, error) {
	var cl assertionClaims
	if err := jose.Unmarshal(payload, &cl); err != nil {
		// The walk runs only on this refusal path, to say which mistake it
		// was; the decoder itself already refuses duplicates everywhere.
		if hasDuplicateKeys(payload) {
			return assertionClaims{}, tokenError(ErrInvalidClient, "client_assertion claims name a member twice")
		}
		return assertionClaims{}, tokenError(ErrInvalidClient, "client_assertion claims are not a JSON object with unique member names, string iss/sub/jti and NumericDate exp/nbf/iat")
	}
	return cl, nil
}

// numericDate reads the NumericDate claim name (RFC 7519 §2: a JSON number
// of seconds since the epoch, possibly fractional). present is false when
// the claim is absent. A string, bool, null, object, array, negative or
// out-of-range number is refused with a description naming the claim.
func numericDate(name string, raw jose.RawMessage) (t time.Time, present bool, err error) {
	if len(raw) == 0 {
		return time.Time{}, false, nil
	}
	t, kind, ok := compact.NumericDate(raw)
	switch {
	case kind != "":
		return time.Time{}, true, tokenError(ErrInvalidClient, fmt.Sprintf("client_assertion %s must be a JSON number (a NumericDate: seconds since 1970-01-01T00:00:00Z), not %s", name, kind))
	case !ok:
		return time.Time{}, true, tokenError(ErrInvalidClient, fmt.Sprintf("client_assertion %s is out of range for a NumericDate (want seconds since 1970-01-01T00:00:00Z, from 0 to %.0f)", name, float64(compact.MaxNumericDate)))
	}
	return t, true, nil
}

// checkTimes holds an assertion to a window of the server's own clock, not
// of its claims: whatever exp, nbf and iat say, an accepted assertion
// expires within MaxAssertionLifetime + ClockSkew of now, so it cannot be
// kept and redeemed later, and its replay record (kept until exp + skew)
// is swept soon after. It returns exp.
//
//   - exp is required: now - skew < exp <= now + lifetime + skew.
//   - nbf, when present, must have come (nbf <= now + skew) and lie no
//     further back than now - lifetime - skew.
//   - iat, when present, lies no further back than now - lifetime - skew,
//     not after exp, and exp - iat <= lifetime. Without nbf, iat is the
//     start of the window and must not be after now + skew. With nbf, iat
//     may be ahead of the server's clock: official clients send
//     nbf = iat - 120 s precisely so that a client clock up to two minutes
//     fast still works, and exp (bounded above) keeps the assertion short.
func (a *Authority) checkTimes(cl assertionClaims, now time.Time) (time.Time, error) {
	skew, life := a.cfg.ClockSkew, a.cfg.MaxAssertionLifetime
	earliest, latest := now.Add(-(life + skew)), now.Add(skew)
	server := now.UTC().Format(time.RFC3339)

	exp, ok, err := numericDate("exp", cl.Exp)
	if err != nil {
		return time.Time{}, err
	}
	if !ok {
		return time.Time{}, tokenError(ErrInvalidClient, "client_assertion must have exp")
	}
	if !now.Before(exp.Add(skew)) {
		return time.Time{}, tokenError(ErrInvalidClient, fmt.Sprintf("client_assertion expired at %s (server time %s); sign a new one and check the client's clock", exp.Format(time.RFC3339), server))
	}
	if exp.After(now.Add(life + skew)) {
		return time.Time{}, tokenError(ErrInvalidClient, fmt.Sprintf("client_assertion exp %s is too far ahead (server time %s): an assertion must expire within %s of being used; sign a short-lived one and check the client's clock", exp.Format(time.RFC3339), server, life))
	}

	nbf, hasNbf, err := numericDate("nbf", cl.Nbf)
	if err != nil {
		return time.Time{}, err
	}
	if hasNbf {
		if nbf.After(latest) {
			return time.Time{}, tokenError(ErrInvalidClient, fmt.Sprintf("client_assertion is not valid before %s (server time %s); check the client's clock", nbf.Format(time.RFC3339), server))
		}
		if nbf.Before(earliest) {
			return time.Time{}, tokenError(ErrInvalidClient, fmt.Sprintf("client_assertion nbf %s is more than %s before server time %s; sign a new assertion for every request", nbf.Format(time.RFC3339), life+skew, server))
		}
	}

	iat, hasIat, err := numericDate("iat", cl.Iat)
	if err != nil {
		return time.Time{}, err
	}
	if hasIat {
		if iat.Before(earliest) {
			return time.Time{}, tokenError(ErrInvalidClient, fmt.Sprintf("client_assertion iat %s is more than %s before server time %s; sign a new assertion for every request", iat.Format(time.RFC3339), life+skew, server))
		}
		if iat.After(exp) || (!hasNbf && iat.After(latest)) {
			return time.Time{}, tokenError(ErrInvalidClient, fmt.Sprintf("client_assertion iat %s is in the future (server time %s); check the client's clock", iat.Format(time.RFC3339), server))
		}
		if exp.Sub(iat) > life {
			return time.Time{}, tokenError(ErrInvalidClient, fmt.Sprintf("client_assertion lifetime (exp - iat) is over the maximum of %s", life))
		}
	}
	return exp, nil
}
