package authority

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"

	jose "github.com/go-jose/go-jose/v4/json"

	"github.com/conncred/conncred/internal/compact"
	"github.com/conncred/conncred/internal/edverify"
	"github.com/conncred/conncred/internal/verifyq"
)

// conncred reads compact JWS itself rather than through a general JOSE
// library: it accepts exactly one algorithm (EdDSA with Ed25519), so the
// whole attack surface of algorithm negotiation (alg:none, HMAC with a
// public key, embedded jwk/jku/x5u keys, crit extensions) is refused by
// construction, and the hot path does no reflection-heavy work beyond two
// small JSON decodes.

// b64 is strict unpadded base64url (compact.B64): one token has exactly one
// spelling.
var b64 = compact.B64

// maxJWSLen bounds the tokens and assertions conncred reads. Real ones are
// about 400 bytes.
const maxJWSLen = 8 << 10

// jwsHeader is the protected header members conncred understands.
type jwsHeader struct {
	Alg   string `json:"alg"`
	Kid   string `json:"kid"`
	Typ   string `json:"typ"`
	Nonce string `json:"nonce"`
}

// compactJWS is a compact JWS split into its parts.
type compactJWS struct {
	header  jwsHeader
	payload []byte
	signed  string // base64url(header) "." base64url(payload): what the signature covers
	sig     []byte
}

var (
	errJWSForm    = errors.New("not a compact JWS (want three base64url parts)")
	errJWSSize    = errors.New("too large")
	errJWSHeader  = errors.New("header is not a JSON object")
	errJWSAlg     = errors.New("alg must be EdDSA")
	errJWSMembers = errors.New("header has members conncred refuses (jwk, jku, x5u, x5c, x5t, crit, b64, or duplicates)")
	errJWSPayload = errors.New("payload is not valid base64url")
	errJWSSig     = errors.New("signature is not a 64-byte Ed25519 signature")
)

// refusedHeaderMembers (the fields of rawHeader) name keys or key locations a token could carry for
// itself, or extensions conncred does not implement. A verifier that honours
// any of them can be made to trust the attacker's key, so their mere presence
// is refused.
var refusedHeaderMembers = []string{"jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256", "crit", "b64"}

// parseJWS splits and decodes a compact JWS and checks its header. It does
// not verify the signature.
func parseJWS(token string) (*compactJWS, error) {
	if len(token) > maxJWSLen {
		return nil, errJWSSize
	}
	h, p, s, ok := compact.Split(token)
	if !ok {
		return nil, errJWSForm
	}
	hb, err := b64.DecodeString(h)
	if err != nil {
		return nil, errJWSForm
	}
	hdr, err := decodeHeader(hb)
	if err != nil {
		return nil, err
	}
	if hdr.Alg != "EdDSA" {
		return nil, errJWSAlg
	}
	payload, err := b64.DecodeString(p)
	if err != nil {
		return nil, errJWSPayload
	}
	sig, err := b64.DecodeString(s)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, errJWSSig
	}
	return &compactJWS{header: hdr, payload: payload, signed: token[:len(h)+1+len(p)], sig: sig}, nil
}

// rawHeader is what decodeHeader reads: the members conncred understands
// and, to refuse them, those in refusedHeaderMembers. A refused member is
// refused whatever its value, null included.
type rawHeader struct {
	jwsHeader
	Jwk     jose.RawMessage `json:"jwk"`
	Jku     jose.RawMessage `json:"jku"`
	X5u     jose.RawMessage `json:"x5u"`
	X5c     jose.RawMessage `json:"x5c"`
	X5t     jose.RawMessage `json:"x5t"`
	X5tS256 jose.RawMessage `json:"x5t#S256"`
	Crit    jose.RawMessage `json:"crit"`
	B64     jose.RawMessage `json:"b64"`
}

func (h *rawHeader) refused() bool {
	return h.Jwk != nil || h.Jku != nil || h.X5u != nil || h.X5c != nil || h.X5t != nil || h.X5tS256 != nil || h.Crit != nil || h.B64 != nil
}

// decodeHeader decodes the protected header in one pass of go-jose's JSON
// decoder (see claims.go): member names match exactly, so "ALG" is an
// unknown member and does not stand in for a missing or "none" alg; a
// member named twice at any depth is refused, as are the members in
// refusedHeaderMembers.
func decodeHeader(b []byte) (jwsHeader, error) {
	var h rawHeader
	// A struct also takes null without complaint; a header must be an object.
	if err := jose.Unmarshal(b, &h); err != nil || bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		if hasDuplicateKeys(b) {
			return jwsHeader{}, errJWSMembers
		}
		return jwsHeader{}, errJWSHeader
	}
	if h.refused() {
		return jwsHeader{}, errJWSMembers
	}
	return h.jwsHeader, nil
}

// hasDuplicateKeys reports whether the top-level JSON object b names a
// member twice. The decoder refuses such input already; this walk runs only
// after a refusal, to say which mistake it was. Input that is not a JSON
// object reports false.
func hasDuplicateKeys(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	seen := make(map[string]bool, 8)
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		k, _ := t.(string)
		if seen[k] {
			return true
		}
		seen[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return false
		}
	}
	return false
}

// verify checks the signature with pub with crypto/ed25519, the reference
// every faster check is held to (sigChecker).
func (j *compactJWS) verify(pub ed25519.PublicKey) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	return ed25519.Verify(pub, []byte(j.signed), j.sig)
}

// signJWS builds a compact JWS over header and claims, signed by sign (an
// Ed25519 signer of the bytes given).
func signJWS(sign func(msg []byte) []byte, header, claims any) (string, error) {
	hb, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	cb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	buf := make([]byte, 0, enc.EncodedLen(len(hb))+enc.EncodedLen(len(cb))+enc.EncodedLen(ed25519.SignatureSize)+2)
	buf = enc.AppendEncode(buf, hb)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, cb)
	sig := sign(buf)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

// sigChecker makes the Ed25519 checks of the hot paths: a client
// assertion's signature in the token exchange and an access token's in
// every API call. By default it checks each signature alone with
// internal/edverify (curve25519-voi with crypto/ed25519's exact answers,
// the key decoded and tabled once): measured about 1.7× faster than
// crypto/ed25519.Verify (BENCHMARKS.md, "Batch verification (issue 15)").
//
// The two other modes exist to be measured side by side in one run, and
// only benchmarks and tests set them: stdlib (crypto/ed25519, the key
// decoded on every call: what conncred did before) and queue (concurrent
// checks verified together in exact batches by internal/verifyq). The
// exact batch was measured slower than the single check at every batch
// size, so the server does not batch; see BENCHMARKS.md.
type sigChecker struct {
	// credKeys holds credentials' keys decoded, by their bytes.
	credKeys *edverify.KeyCache

	stdlib bool           // benchmarks only: crypto/ed25519 for every check and signature
	queue  *verifyq.Queue // benchmarks only: batch concurrent checks
}

// credKeyCacheSize bounds the decoded credential keys kept (about 1.5 KiB
// each, so about 6 MiB): more than the credentials a node usually serves
// within a few seconds; beyond, the least recently used are decoded again.
const credKeyCacheSize = 4096

func newSigChecker() *sigChecker {
	return &sigChecker{credKeys: edverify.NewKeyCache(credKeyCacheSize)}
}

// credential reports whether j is signed by the credential key pub, with
// crypto/ed25519.Verify's answer.
func (c *sigChecker) credential(pub ed25519.PublicKey, j *compactJWS) bool {
	if c.stdlib {
		return j.verify(pub)
	}
	return c.check(c.credKeys.Get(pub), j)
}

// token reports whether j is signed by the server's key k, with
// crypto/ed25519.Verify's answer.
func (c *sigChecker) token(k *signingKey, j *compactJWS) bool {
	if c.stdlib {
		return j.verify(k.pub)
	}
	return c.check(k.vk, j)
}

func (c *sigChecker) check(k *edverify.PublicKey, j *compactJWS) bool {
	if c.queue != nil {
		return c.queue.Verify(k, []byte(j.signed), j.sig)
	}
	return k.Verify([]byte(j.signed), j.sig)
}

// sign signs msg with the server's key k: the same bytes either way
// (Ed25519 signing is deterministic; edverify's tests hold the two to it).
func (c *sigChecker) sign(k *signingKey, msg []byte) []byte {
	if c.stdlib {
		return ed25519.Sign(k.priv, msg)
	}
	return k.signer.Sign(msg)
}
