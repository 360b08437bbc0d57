package conncred

import (
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// App is an application whose access a connector syncs.
type App struct {
	ID          string
	DisplayName string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeletedAt   *time.Time
}

// Connector is a sync agent attached to an App. Its credentials are what it
// authenticates with.
type Connector struct {
	ID          string
	AppID       string
	CatalogID   string
	DisplayName string
	Description string
	UserIDs     []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeletedAt   *time.Time
}

// CredentialKind says what a credential authenticates as.
type CredentialKind string

const (
	// KindConnector is a connector client credential (client id suffix /ccc).
	// It belongs to one connector and may only read what is its own.
	KindConnector CredentialKind = "connector"
	// KindAdmin is a personal client credential (client id suffix /pcc) that
	// manages everything.
	KindAdmin CredentialKind = "admin"
)

// Credential is a stored client credential. It holds only the public half of
// the key: the secret is returned once, beside the record, by the call that
// creates it, and is never stored.
type Credential struct {
	ID          string
	Kind        CredentialKind
	AppID       string // empty for KindAdmin
	ConnectorID string // empty for KindAdmin
	ClientID    string
	DisplayName string
	PublicKey   []byte // Ed25519 public key, 32 bytes
	Thumbprint  string // RFC 7638 SHA-256 thumbprint of the public JWK, base64url
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeletedAt   *time.Time // set by revoke
	ExpiresAt   *time.Time // nil means no expiry
	LastUsedAt  *time.Time
}

// Usable reports whether the credential may authenticate at now: not revoked
// and not past its expiry.
func (c *Credential) Usable(now time.Time) bool {
	if c.DeletedAt != nil {
		return false
	}
	return c.ExpiresAt == nil || now.Before(*c.ExpiresAt)
}

// SigningKey is one of the server's own Ed25519 keys for access tokens. The
// newest key signs; older keys stay in the key set so that tokens they signed
// verify until they expire.
type SigningKey struct {
	ID        string // the JWS kid
	Seed      Seed   // Ed25519 private key seed, 32 bytes
	CreatedAt time.Time
}

// Seed is the private part of a SigningKey. Like secret.Secret it cannot
// print itself: fmt (every verb, %v, %+v, %#v, %x included), slog and
// encoders show REDACTED or refuse, so a SigningKey that reaches a log line
// or a JSON response by mistake does not leak the key that signs every access
// token. It is a []byte underneath, so ed25519.NewKeyFromSeed(k.Seed) and
// the stores read and write it as bytes without a conversion.
type Seed []byte

const redacted = "REDACTED"

// String returns "REDACTED".
func (Seed) String() string { return redacted }

// GoString returns "REDACTED", for %#v.
func (Seed) GoString() string { return redacted }

// Format writes "REDACTED" whatever the verb and flags, so %x, %q and %d do
// not reach the bytes either.
func (Seed) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue returns "REDACTED", for log/slog.
func (Seed) LogValue() slog.Value { return slog.StringValue(redacted) }

// errSeedMarshal is what encoders get: a seed is never serialized except by
// a Store, which writes its bytes itself.
var errSeedMarshal = errors.New("conncred: refusing to marshal a signing key seed")

// MarshalJSON refuses.
func (Seed) MarshalJSON() ([]byte, error) { return nil, errSeedMarshal }

// MarshalText refuses, for encoders that use encoding.TextMarshaler.
func (Seed) MarshalText() ([]byte, error) { return nil, errSeedMarshal }

// AuditEvent is one security-relevant event.
type AuditEvent struct {
	ID           string
	Time         time.Time
	Kind         string // e.g. "credential.created", "token.refused"
	Actor        string // client id of the caller, or "system"
	Source       string // remote address of the request, if any
	Outcome      string // "success" or "failure"
	Reason       string // why, for failures; never a secret
	AppID        string
	ConnectorID  string
	CredentialID string
	Count        int // events folded into this record (sampled kinds); at least 1
}
