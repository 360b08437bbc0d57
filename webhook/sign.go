package webhook

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/conncred/conncred/internal/fsutil"
)

// Standard Webhooks formats: a symmetric secret is "whsec_" and the base64
// of its bytes; a public key is "whpk_" and the base64 of the Ed25519 key.
const (
	secretPrefix    = "whsec_"
	publicKeyPrefix = "whpk_"
	secretBytes     = 32
	keyFileBytes    = 32
)

// Secret is an endpoint's signing secret in the whsec_ format. It prints as
// REDACTED everywhere (fmt, slog); Reveal gives the value, for the one
// response that creates it.
type Secret struct{ s string }

// Reveal returns the secret.
func (s Secret) Reveal() string { return s.s }

// String returns REDACTED, so a secret never lands in a log by accident.
func (Secret) String() string { return "REDACTED" }

// LogValue keeps the secret out of slog output.
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// GoString keeps the secret out of %#v.
func (Secret) GoString() string { return "REDACTED" }

func newSecret() (Secret, []byte) {
	b := make([]byte, secretBytes)
	rand.Read(b)
	return Secret{secretPrefix + base64.StdEncoding.EncodeToString(b)}, b
}

// ParseSecret returns the key bytes of a whsec_ secret.
func ParseSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, secretPrefix)
	if !ok {
		return nil, errors.New("a webhook secret starts with " + secretPrefix)
	}
	return base64.StdEncoding.DecodeString(b64)
}

// signedContent is what both signature schemes sign: id.timestamp.body.
func signedContent(id string, ts int64, body []byte) []byte {
	b := make([]byte, 0, len(id)+len(body)+24)
	b = append(b, id...)
	b = append(b, '.')
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, '.')
	return append(b, body...)
}

// SignHMAC returns the v1 signature of a message with key.
func SignHMAC(key []byte, id string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(signedContent(id, ts, body))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// SignEd25519 returns the v1a signature of a message with priv.
func SignEd25519(priv ed25519.PrivateKey, id string, ts int64, body []byte) string {
	return "v1a," + base64.StdEncoding.EncodeToString(ed25519.Sign(priv, signedContent(id, ts, body)))
}

// Keyring holds the server's webhook keys, derived from one 32-byte master
// key kept in a file outside the database: an AES-256-GCM key that seals
// the endpoints' secrets (so a copy of the database alone does not sign
// webhooks) and the Ed25519 key of v1a signatures. Every node of a cluster
// must be given the same file.
type Keyring struct {
	aead cipher.AEAD
	priv ed25519.PrivateKey
}

// NewKeyring derives the keys from master (32 bytes).
func NewKeyring(master []byte) (*Keyring, error) {
	if len(master) != keyFileBytes {
		return nil, fmt.Errorf("the webhook key must be %d bytes, not %d", keyFileBytes, len(master))
	}
	sealKey, err := hkdf.Key(sha256.New, master, nil, "conncred webhook secret sealing", 32)
	if err != nil {
		return nil, err
	}
	seed, err := hkdf.Key(sha256.New, master, nil, "conncred webhook ed25519", ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(sealKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keyring{aead: aead, priv: ed25519.NewKeyFromSeed(seed)}, nil
}

// LoadOrCreateKeyring reads the master key from path, creating the file
// (mode 0600) with a random key if it does not exist.
func LoadOrCreateKeyring(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		b = make([]byte, keyFileBytes)
		rand.Read(b)
		if err := fsutil.WriteFileAtomic(path, b, 0o600); err != nil {
			return nil, fmt.Errorf("could not create the webhook key file: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("could not read the webhook key file: %w", err)
	}
	k, err := NewKeyring(b)
	if err != nil {
		return nil, fmt.Errorf("webhook key file %s: %w; remove it to make a new one (endpoints with a secret must then be re-created)", path, err)
	}
	return k, nil
}

// PublicKey returns the public key of v1a signatures.
func (k *Keyring) PublicKey() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }

// PublicKeyString returns it in the Standard Webhooks whpk_ format.
func (k *Keyring) PublicKeyString() string {
	return publicKeyPrefix + base64.StdEncoding.EncodeToString(k.PublicKey())
}

// seal encrypts an endpoint's secret key, bound to the endpoint's id so a
// sealed secret copied to another row does not open.
func (k *Keyring) seal(endpointID string, key []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	return k.aead.Seal(nonce, nonce, key, []byte(endpointID))
}

func (k *Keyring) open(endpointID string, sealed []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("the sealed webhook secret is too short")
	}
	key, err := k.aead.Open(nil, sealed[:n], sealed[n:], []byte(endpointID))
	if err != nil {
		return nil, errors.New("the webhook secret does not open with this server's webhook key (was the key file replaced?)")
	}
	return key, nil
}
