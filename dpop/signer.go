package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/conncred/conncred/clock"
	josesig "github.com/go-jose/go-jose/v4"
	jose "github.com/go-jose/go-jose/v4/json"
)

// Signer makes proofs with one key, for a client. go-jose signs them and
// embeds the public key; nothing here is cryptography of its own. The
// private key never leaves it and it has no String method that could
// print it.
type Signer struct {
	signer josesig.Signer
	jkt    string
	clock  clock.Clock
}

// NewSigner returns a signer over key, an ed25519.PrivateKey (EdDSA) or a
// P-256 *ecdsa.PrivateKey (ES256). clk is the proofs' iat source (nil:
// real time).
func NewSigner(key crypto.Signer, clk clock.Clock) (*Signer, error) {
	var alg josesig.SignatureAlgorithm
	switch k := key.(type) {
	case ed25519.PrivateKey:
		alg = josesig.EdDSA
	case *ecdsa.PrivateKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("dpop: an ECDSA key must be on P-256 (ES256)")
		}
		alg = josesig.ES256
	default:
		return nil, errors.New("dpop: the key must be Ed25519 or ECDSA P-256")
	}
	s, err := josesig.NewSigner(josesig.SigningKey{Algorithm: alg, Key: key},
		(&josesig.SignerOptions{EmbedJWK: true}).WithType(TypeProof))
	if err != nil {
		return nil, err
	}
	tp, err := (&josesig.JSONWebKey{Key: key.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	if clk == nil {
		clk = clock.Real{}
	}
	return &Signer{signer: s, jkt: base64.RawURLEncoding.EncodeToString(tp), clock: clk}, nil
}

// NewEphemeralSigner returns a signer over a new Ed25519 key that lives
// only in this process, as the CLI's --dpop uses.
func NewEphemeralSigner() (*Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return NewSigner(priv, nil)
}

// Thumbprint is the key's RFC 7638 thumbprint, the cnf.jkt of the tokens
// bound to it.
func (s *Signer) Thumbprint() string { return s.jkt }

// Proof makes a proof for one request: method and URL (query and fragment
// are dropped), the access token it goes with ("" at the token endpoint)
// and the server's nonce ("" if it has sent none).
func (s *Signer) Proof(method, url, accessToken, nonce string) (string, error) {
	if i := strings.IndexAny(url, "?#"); i >= 0 {
		url = url[:i]
	}
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", err
	}
	c := struct {
		JTI   string `json:"jti"`
		HTM   string `json:"htm"`
		HTU   string `json:"htu"`
		IAT   int64  `json:"iat"`
		ATH   string `json:"ath,omitempty"`
		Nonce string `json:"nonce,omitempty"`
	}{JTI: base64.RawURLEncoding.EncodeToString(jti[:]), HTM: method, HTU: url, IAT: s.clock.Now().Unix(), Nonce: nonce}
	if accessToken != "" {
		c.ATH = AccessTokenHash(accessToken)
	}
	payload, err := jose.Marshal(c)
	if err != nil {
		return "", err
	}
	jws, err := s.signer.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}
