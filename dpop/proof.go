package dpop

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/sha256"
	"math/big"
	"strconv"
	"time"

	// go-jose's fork of encoding/json, as package authority reads JOSE:
	// member names match exactly ("ALG" is not "alg") and a member named
	// twice at any depth is refused, so this verifier reads the same
	// header and claims as the library that signed them.
	jose "github.com/go-jose/go-jose/v4/json"

	"github.com/conncred/conncred/internal/compact"
)

// The algorithms a proof may use: what conncred's keys and the common
// client libraries make. Never none, never HMAC (the key is in the header,
// so a MAC over it proves nothing), and not RSA (large keys in every
// request header for no gain).
const (
	AlgEdDSA = "EdDSA"
	AlgES256 = "ES256"
)

// TypeProof is the typ every proof must declare (RFC 9449 §4.2), so no
// other JWT (an ID token, an access token) can stand in for a proof.
const TypeProof = "dpop+jwt"

// maxProofLen bounds a proof; real ones are 300 to 600 bytes.
const maxProofLen = 4 << 10

// maxJTILen bounds the jti: enough for any random id, too short to fill
// the replay store with one request's worth of junk.
const maxJTILen = 128

// header is a proof's protected header.
type header struct {
	Typ string          `json:"typ"`
	Alg string          `json:"alg"`
	JWK jose.RawMessage `json:"jwk"`
	// Members that name a key another way: a proof's key is the jwk it
	// carries, and nothing else, so their presence is refused.
	Kid  jose.RawMessage `json:"kid"`
	Jku  jose.RawMessage `json:"jku"`
	X5u  jose.RawMessage `json:"x5u"`
	X5c  jose.RawMessage `json:"x5c"`
	Crit jose.RawMessage `json:"crit"`
	B64  jose.RawMessage `json:"b64"`
}

// claims is a proof's claim set (RFC 9449 §4.2). iat stays raw so that a
// non-number is refused by name rather than coerced.
type claims struct {
	JTI   string          `json:"jti"`
	HTM   string          `json:"htm"`
	HTU   string          `json:"htu"`
	IAT   jose.RawMessage `json:"iat"`
	ATH   string          `json:"ath"`
	Nonce string          `json:"nonce"`
}

// proof is a parsed proof whose signature verified with its own jwk.
type proof struct {
	key    publicKey
	claims claims
	iat    time.Time
}

// parse reads a compact JWS proof, checks its header, verifies its
// signature with the jwk it carries and decodes its claims. It checks
// nothing about the request; see Verifier.
func parse(s string) (*proof, *Error) {
	if len(s) > maxProofLen {
		return nil, refusal(ReasonMalformed, "the DPoP proof is larger than "+strconv.Itoa(maxProofLen)+" bytes")
	}
	h, p, sg, ok := compact.Split(s)
	if !ok {
		return nil, refusal(ReasonMalformed, "the DPoP proof is not a compact JWS (three base64url parts separated by dots)")
	}
	hb, err := b64.DecodeString(h)
	if err != nil {
		return nil, refusal(ReasonMalformed, "the DPoP proof's header is not base64url without padding")
	}
	var hdr header
	if err := jose.Unmarshal(hb, &hdr); err != nil || !bytes.HasPrefix(bytes.TrimSpace(hb), []byte("{")) {
		return nil, refusal(ReasonMalformed, "the DPoP proof's header is not a JSON object with unique member names")
	}
	if hdr.Typ != TypeProof {
		return nil, refusal(ReasonTyp, `the DPoP proof's header must have typ "dpop+jwt"`)
	}
	if hdr.Alg != AlgEdDSA && hdr.Alg != AlgES256 {
		return nil, refusal(ReasonAlg, "the DPoP proof's alg must be EdDSA or ES256")
	}
	if hdr.Kid != nil || hdr.Jku != nil || hdr.X5u != nil || hdr.X5c != nil || hdr.Crit != nil || hdr.B64 != nil {
		return nil, refusal(ReasonJWK, "the DPoP proof's header may name its key only by jwk (no kid, jku, x5u, x5c) and may not use crit or b64")
	}
	key, rerr := parseJWK(hdr.JWK)
	if rerr != nil {
		return nil, rerr
	}
	if key.alg != hdr.Alg {
		return nil, refusal(ReasonAlg, "the DPoP proof's alg does not match its jwk (EdDSA signs with an Ed25519 key, ES256 with a P-256 key)")
	}
	sig, err := b64.DecodeString(sg)
	if err != nil || !verify(key, s[:len(h)+1+len(p)], sig) {
		return nil, refusal(ReasonSignature, "the DPoP proof's signature does not verify with its jwk")
	}
	pb, err := b64.DecodeString(p)
	if err != nil {
		return nil, refusal(ReasonMalformed, "the DPoP proof's payload is not base64url without padding")
	}
	var c claims
	if err := jose.Unmarshal(pb, &c); err != nil || !bytes.HasPrefix(bytes.TrimSpace(pb), []byte("{")) {
		return nil, refusal(ReasonMalformed, "the DPoP proof's claims are not a JSON object with unique member names and string jti, htm, htu, ath, nonce")
	}
	switch {
	case c.JTI == "" || len(c.JTI) > maxJTILen:
		return nil, refusal(ReasonMalformed, "the DPoP proof needs a jti of 1 to "+strconv.Itoa(maxJTILen)+" characters, unique for every proof")
	case c.HTM == "":
		return nil, refusal(ReasonHTM, "the DPoP proof needs htm: the request's HTTP method")
	case c.HTU == "":
		return nil, refusal(ReasonHTU, "the DPoP proof needs htu: the request's URL without query or fragment")
	}
	iat, rerr := numericDate(c.IAT)
	if rerr != nil {
		return nil, rerr
	}
	return &proof{key: key, claims: c, iat: iat}, nil
}

// verify checks sig over signed with k, using the standard library.
func verify(k publicKey, signed string, sig []byte) bool {
	switch pub := k.key.(type) {
	case ed25519.PublicKey:
		return len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, []byte(signed), sig)
	case *ecdsa.PublicKey:
		// JWS ES256 signatures are R || S, 32 bytes each (RFC 7518 §3.4).
		if len(sig) != 64 {
			return false
		}
		h := sha256.Sum256([]byte(signed))
		return ecdsa.Verify(pub, h[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	}
	return false
}

// numericDate reads iat: a JSON number of seconds since the epoch.
func numericDate(raw jose.RawMessage) (time.Time, *Error) {
	if len(raw) == 0 {
		return time.Time{}, refusal(ReasonIAT, "the DPoP proof needs iat: the time it was made, in seconds since 1970-01-01T00:00:00Z")
	}
	t, kind, ok := compact.NumericDate(raw)
	switch {
	case kind != "" || raw[0] == '-':
		return time.Time{}, refusal(ReasonIAT, "the DPoP proof's iat must be a non-negative JSON number (seconds since 1970-01-01T00:00:00Z)")
	case !ok:
		return time.Time{}, refusal(ReasonIAT, "the DPoP proof's iat is out of range")
	}
	return t, nil
}
