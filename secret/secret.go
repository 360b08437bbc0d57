// Package secret holds the formats of conncred's client credentials and
// nothing else: Ed25519 key generation, the v1 client secret
// ("secret-token:<namespace>:v1:<base64url JWK>"), client ids
// ("<cutename>@<host>/<suffix>") and RFC 7638 thumbprints.
//
// The formats follow ConductorOne's clients, which must parse what conncred
// hands out (docs/PROTOCOL.md §3.3, §3.4).
package secret

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// Namespace is the second part of the secrets conncred issues. Clients check
// only the version part, so any namespace parses; conncred's own is this.
const Namespace = "conncred"

// MaxLen bounds the secret text Parse will look at. A v1 secret is about 170
// bytes; anything far larger is not a secret and is refused before decoding.
const MaxLen = 4096

// Secret is the text of a client secret. It cannot print itself: fmt and
// slog show REDACTED, so a secret that reaches a log line by mistake does not
// leak. Reveal returns the text for the one response that carries it.
type Secret struct {
	text string
}

// Reveal returns the secret's text.
func (s Secret) Reveal() string { return s.text }

// String returns "REDACTED".
func (s Secret) String() string { return "REDACTED" }

// GoString returns "REDACTED", for %#v.
func (s Secret) GoString() string { return "REDACTED" }

// LogValue returns "REDACTED", for log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// MarshalText refuses, so a Secret never ends up in JSON by accident; the
// API writes Reveal() into its response explicitly.
func (s Secret) MarshalText() ([]byte, error) {
	return nil, errors.New("secret: refusing to marshal a client secret")
}

// IsZero reports whether s holds no secret.
func (s Secret) IsZero() bool { return s.text == "" }

// Equal compares two secrets in constant time.
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.text), []byte(o.text)) == 1
}

// Generate makes a new Ed25519 key pair and returns the public key (the only
// part the server keeps) and the secret that carries the private key.
func Generate() (ed25519.PublicKey, Secret, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, Secret{}, fmt.Errorf("secret: generating key: %w", err)
	}
	s, err := Encode(priv)
	if err != nil {
		return nil, Secret{}, err
	}
	return pub, s, nil
}

// Encode writes priv as a v1 secret in conncred's namespace. The JWK has only
// kty, crv, x and d, like the secrets ConductorOne issues: clients copy a
// kid from the JWK into the assertion header, and conncred's assertions
// carry none.
func Encode(priv ed25519.PrivateKey) (Secret, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return Secret{}, errors.New("secret: not an Ed25519 private key")
	}
	jwk := struct {
		Kty string `json:"kty"`
		Crv string `json:"crv"`
		X   string `json:"x"`
		D   string `json:"d"`
	}{
		Kty: "OKP",
		Crv: "Ed25519",
		X:   base64.RawURLEncoding.EncodeToString(priv.Public().(ed25519.PublicKey)),
		D:   base64.RawURLEncoding.EncodeToString(priv.Seed()),
	}
	b, err := json.Marshal(jwk)
	if err != nil {
		return Secret{}, fmt.Errorf("secret: encoding JWK: %w", err)
	}
	return Secret{text: "secret-token:" + Namespace + ":v1:" + base64.RawURLEncoding.EncodeToString(b)}, nil
}

// ErrMalformed is wrapped by every Parse error. Parse errors never quote the
// input: it is, or may be, a secret.
var ErrMalformed = errors.New("malformed client secret")

// Parse reads a v1 secret and returns its private key. It accepts what
// ConductorOne's clients accept: exactly four colon-separated parts of which
// only the third is checked ("v1"); the fourth is unpadded base64url of an
// Ed25519 private JWK, with or without alg, kid or use. It is stricter in
// one way: the JWK's x must be the public key of its d, since a key whose
// halves disagree signs assertions no server can verify.
func Parse(text string) (ed25519.PrivateKey, error) {
	if len(text) > MaxLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrMalformed, MaxLen)
	}
	parts := strings.SplitN(text, ":", 4)
	if len(parts) != 4 {
		return nil, fmt.Errorf("%w: want secret-token:<namespace>:v1:<key>", ErrMalformed)
	}
	if parts[2] != "v1" {
		return nil, fmt.Errorf("%w: unsupported version (want v1)", ErrMalformed)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil {
		return nil, fmt.Errorf("%w: key part is not unpadded base64url", ErrMalformed)
	}
	var jwk jose.JSONWebKey
	if err := jwk.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("%w: key part is not a JWK", ErrMalformed)
	}
	if jwk.IsPublic() || !jwk.Valid() {
		return nil, fmt.Errorf("%w: JWK is not a private key", ErrMalformed)
	}
	priv, ok := jwk.Key.(ed25519.PrivateKey)
	if !ok || len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: JWK is not an Ed25519 private key", ErrMalformed)
	}
	// go-jose builds the key as d||x without checking x; derive it from d.
	derived := ed25519.NewKeyFromSeed(priv.Seed())
	if subtle.ConstantTimeCompare(derived[32:], priv[32:]) != 1 {
		return nil, fmt.Errorf("%w: JWK x is not the public key of d", ErrMalformed)
	}
	return derived, nil
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of an Ed25519 public
// key, base64url without padding.
func Thumbprint(pub ed25519.PublicKey) string {
	// RFC 7638 §3.2: the required members in lexicographic order, no spaces.
	canon := `{"crv":"Ed25519","kty":"OKP","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}`
	sum := sha256.Sum256([]byte(canon))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
