package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"

	jose "github.com/go-jose/go-jose/v4/json"

	"github.com/conncred/conncred/internal/compact"
)

// b64 is strict unpadded base64url (compact.B64, as in package authority):
// one value has one spelling, so one key has one thumbprint.
var b64 = compact.B64

// rawJWK is the members of a proof's jwk that conncred reads, and, to
// refuse them, the private members of every key type (RFC 7518 §6): a
// proof that carries its private key is a client bug that leaks the key,
// and RFC 9449 §4.3 says to refuse it.
type rawJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`

	D   jose.RawMessage `json:"d"`
	P   jose.RawMessage `json:"p"`
	Q   jose.RawMessage `json:"q"`
	DP  jose.RawMessage `json:"dp"`
	DQ  jose.RawMessage `json:"dq"`
	QI  jose.RawMessage `json:"qi"`
	Oth jose.RawMessage `json:"oth"`
	K   jose.RawMessage `json:"k"`
}

func (k *rawJWK) private() bool {
	return k.D != nil || k.P != nil || k.Q != nil || k.DP != nil || k.DQ != nil || k.QI != nil || k.Oth != nil || k.K != nil
}

// publicKey is a proof's verified-form key: the Go key and its thumbprint.
type publicKey struct {
	alg string // the one alg this key signs with
	key crypto.PublicKey
	jkt string
}

// parseJWK reads the jwk header member: an Ed25519 (OKP) or P-256 (EC)
// public key with no private members.
func parseJWK(raw jose.RawMessage) (publicKey, *Error) {
	if len(raw) == 0 || raw[0] != '{' {
		return publicKey{}, refusal(ReasonJWK, "the proof's header must carry the public key as jwk (a JSON object)")
	}
	var k rawJWK
	if err := jose.Unmarshal(raw, &k); err != nil {
		return publicKey{}, refusal(ReasonJWK, "the proof's jwk is not a JSON object with string kty, crv, x (and y) and unique member names")
	}
	if k.private() {
		return publicKey{}, refusal(ReasonJWK, "the proof's jwk holds private key members; send only the public key (and make a new key: this one has been exposed)")
	}
	switch {
	case k.Kty == "OKP" && k.Crv == "Ed25519":
		x, err := b64.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize || k.Y != "" {
			return publicKey{}, refusal(ReasonJWK, "the proof's Ed25519 jwk needs x: 32 bytes, base64url without padding")
		}
		return publicKey{alg: AlgEdDSA, key: ed25519.PublicKey(x), jkt: thumbprint(`{"crv":"Ed25519","kty":"OKP","x":"` + k.X + `"}`)}, nil
	case k.Kty == "EC" && k.Crv == "P-256":
		x, errX := b64.DecodeString(k.X)
		y, errY := b64.DecodeString(k.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return publicKey{}, refusal(ReasonJWK, "the proof's P-256 jwk needs x and y: 32 bytes each, base64url without padding")
		}
		// ParseUncompressedPublicKey refuses a point not on the curve.
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return publicKey{}, refusal(ReasonJWK, "the proof's P-256 jwk is not a point on the curve")
		}
		return publicKey{alg: AlgES256, key: pub, jkt: thumbprint(`{"crv":"P-256","kty":"EC","x":"` + k.X + `","y":"` + k.Y + `"}`)}, nil
	}
	return publicKey{}, refusal(ReasonJWK, `the proof's jwk must be an Ed25519 key (kty "OKP", crv "Ed25519") or a P-256 key (kty "EC", crv "P-256")`)
}

// thumbprint is RFC 7638's: base64url(SHA-256) of the key's required
// members in lexicographic order without whitespace. The members were
// decoded strictly above, so they hold only base64url characters and need
// no escaping.
func thumbprint(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
