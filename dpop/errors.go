package dpop

// RFC 9449 error codes: a bad proof, and a proof without the server's
// current nonce (§8, §9). Both go in the token endpoint's error body and in
// a protected resource's WWW-Authenticate: DPoP challenge.
const (
	ErrInvalidProof = "invalid_dpop_proof"
	ErrUseNonce     = "use_dpop_nonce"
)

// Reasons a proof is refused: the label of the refusal metric, so each is
// one fixed word, never text from the request.
const (
	ReasonMissing   = "missing"   // no DPoP header where one is required
	ReasonMultiple  = "multiple"  // more than one DPoP header
	ReasonMalformed = "malformed" // not a JWS, bad JSON, no jti
	ReasonTyp       = "typ"
	ReasonAlg       = "alg" // not EdDSA/ES256, or not the jwk's
	ReasonJWK       = "jwk" // missing, private, unsupported, or a key named another way
	ReasonSignature = "signature"
	ReasonHTM       = "htm"
	ReasonHTU       = "htu"
	ReasonIAT       = "iat" // missing, stale or in the future
	ReasonNonce     = "nonce"
	ReasonATH       = "ath" // missing or not the token's hash
	ReasonKey       = "key" // a proof by another key than the token's
	ReasonReplay    = "replay"
)

// Reasons lists every reason, for metrics to pre-declare.
var Reasons = []string{ReasonMissing, ReasonMultiple, ReasonMalformed, ReasonTyp, ReasonAlg, ReasonJWK,
	ReasonSignature, ReasonHTM, ReasonHTU, ReasonIAT, ReasonNonce, ReasonATH, ReasonKey, ReasonReplay}

// Error is a refused proof. Description tells the client what to fix and
// never quotes the proof or the token; Nonce, for ErrUseNonce, is the nonce
// to send back in a DPoP-Nonce header.
type Error struct {
	Code        string
	Description string
	Reason      string
	Nonce       string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func refusal(reason, desc string) *Error {
	return &Error{Code: ErrInvalidProof, Description: desc, Reason: reason}
}
