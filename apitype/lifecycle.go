package apitype

import (
	"time"

	"github.com/conncred/conncred"
)

// Paths of the lifecycle wing's conncred extensions.
const (
	// PathSelfRotate and PathSelfRevoke act on the credential the bearer
	// token was minted from; only a connector credential's token may.
	PathSelfRotate = "/api/v1/credentials/self/rotate"
	PathSelfRevoke = "/api/v1/credentials/self/revoke"
	// PathSessionSettings and PathTestSourceIP are ConductorOne's.
	PathSessionSettings = "/api/v1/settings/session"
	PathTestSourceIP    = "/api/v1/settings/session/test-source-ip"
)

// PublicJWK is a public key brought by the caller to rotate with:
// {"kty":"OKP","crv":"Ed25519","x":"<base64url>"}. D is read only to
// refuse it: a private key must never be sent.
type PublicJWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	D   string `json:"d,omitempty"`
}

// SelfRotateRequest is the body of POST /api/v1/credentials/self/rotate.
type SelfRotateRequest struct {
	DisplayName string     `json:"displayName,omitempty"`
	Expires     Duration   `json:"expires,omitempty"`
	ExpiresTime *time.Time `json:"expiresTime,omitempty"`
	// Grace is how long the calling credential keeps working (default 24h).
	Grace     Duration   `json:"grace,omitempty"`
	PublicKey *PublicJWK `json:"publicKey,omitempty"`
}

// Validate reports what is wrong with the request.
func (r *SelfRotateRequest) Validate() error {
	rr := RotateCredentialRequest{DisplayName: r.DisplayName, Expires: r.Expires, ExpiresTime: r.ExpiresTime}
	if err := rr.Validate(); err != nil {
		return err
	}
	if r.Grace < 0 {
		return conncred.Errorf(conncred.EInvalid, "grace must be a positive duration such as \"24h\"")
	}
	return nil
}

// CIDRRestriction is ConductorOne's {enabled, sourceCidr[]}.
type CIDRRestriction struct {
	Enabled    bool     `json:"enabled"`
	SourceCidr []string `json:"sourceCidr"`
}

// SessionSettings is ConductorOne's SessionSettings, of which conncred
// enforces connectorSource and pccAdminSource.
type SessionSettings struct {
	ConnectorSource *CIDRRestriction `json:"connectorSource,omitempty"`
	PCCAdminSource  *CIDRRestriction `json:"pccAdminSource,omitempty"`
}

// SessionSettingsResponse is the body of GET and POST /api/v1/settings/session.
type SessionSettingsResponse struct {
	SessionSettings *SessionSettings `json:"sessionSettings"`
}

// UpdateSessionSettingsRequest is the body of POST /api/v1/settings/session.
type UpdateSessionSettingsRequest struct {
	SessionSettings *SessionSettings `json:"sessionSettings"`
	UpdateMask      FieldMask        `json:"updateMask"`
}

// Validate reports what is wrong with the request.
func (r *UpdateSessionSettingsRequest) Validate() error {
	if r.SessionSettings == nil {
		return conncred.Errorf(conncred.EInvalid, "sessionSettings is required")
	}
	return nil
}

// TestSourceIPRequest is the body of POST /api/v1/settings/session/test-source-ip.
type TestSourceIPRequest struct {
	AllowCidr []string `json:"allowCidr"`
	// SourceIP is the address to test; empty tests the caller's own.
	SourceIP string `json:"sourceIp,omitempty"`
}

// Validate reports what is wrong with the request.
func (r *TestSourceIPRequest) Validate() error { return checkText("sourceIp", r.SourceIP, MaxIDLen) }

// TestSourceIPResponse is its answer.
type TestSourceIPResponse struct {
	Allowed   bool   `json:"allowed"`
	CheckedIP string `json:"checkedIp"`
}

// SourceLimit is the body of GET and POST
// /api/v1/apps/{app_id}/connectors/{connector_id}/credentials/{id}/source_limit
// (a conncred extension): the networks the credential may be used from;
// an empty list means no limit of its own.
type SourceLimit struct {
	AllowSourceCidr []string `json:"allowSourceCidr"`
}

// Validate accepts any list; the networks are checked by the rules.
func (r *SourceLimit) Validate() error { return nil }
