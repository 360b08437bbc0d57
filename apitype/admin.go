package apitype

import (
	"time"

	"github.com/conncred/conncred"
)

// Routes that are conncred extensions, kept here so server and client agree.
const (
	PathPersonalClients = "/api/v1/iam/personal_clients"
	PathSigningKeys     = "/api/v1/signing_keys"
	PathRotateKeys      = "/api/v1/signing_keys/rotate"
	PathAudit           = "/api/v1/audit"
	PathIntrospect      = "/api/v1/auth/introspect"
	PathToken           = "/auth/v1/token"
	PathTokenIntrospect = "/auth/v1/introspect"
	PathJWKS            = "/.well-known/jwks.json"
	PathASMetadata      = "/.well-known/oauth-authorization-server"
)

// PersonalClientResponse is the body of an admin (personal client) create or
// get. ClientSecret is set only by create, as ConductorOne's
// CreatePersonalClient does.
type PersonalClientResponse struct {
	Client       *PersonalClient `json:"client"`
	ClientSecret string          `json:"clientSecret,omitempty"`
}

// ListPersonalClientsResponse is the body of the admin client list.
type ListPersonalClientsResponse struct {
	List          []*PersonalClient `json:"list"`
	NextPageToken string            `json:"nextPageToken"`
}

// SigningKey is a public signing key as the API lists it.
type SigningKey struct {
	KID       string     `json:"kid"`
	CreatedAt *time.Time `json:"createdAt"`
	Active    bool       `json:"active"` // the key that signs new tokens
}

// ListSigningKeysResponse is the body of GET /api/v1/signing_keys.
type ListSigningKeysResponse struct {
	List []SigningKey `json:"list"`
}

// RotateSigningKeyResponse is the body of POST /api/v1/signing_keys/rotate.
type RotateSigningKeyResponse struct {
	Key SigningKey `json:"key"`
}

// AuditEvent is one audit record as the API shows it.
type AuditEvent struct {
	ID           string     `json:"id"`
	Time         *time.Time `json:"time"`
	Kind         string     `json:"kind"`
	Actor        string     `json:"actor,omitempty"`
	Source       string     `json:"source,omitempty"`
	Outcome      string     `json:"outcome"`
	Reason       string     `json:"reason,omitempty"`
	AppID        string     `json:"appId,omitempty"`
	ConnectorID  string     `json:"connectorId,omitempty"`
	CredentialID string     `json:"credentialId,omitempty"`
	Count        int        `json:"count"`
}

// FromAuditEvent converts a stored audit event to its wire form.
func FromAuditEvent(e conncred.AuditEvent) AuditEvent {
	return AuditEvent{
		ID: e.ID, Time: utc(&e.Time), Kind: e.Kind, Actor: e.Actor, Source: e.Source,
		Outcome: e.Outcome, Reason: e.Reason, AppID: e.AppID, ConnectorID: e.ConnectorID,
		CredentialID: e.CredentialID, Count: e.Count,
	}
}

// ListAuditResponse is the body of GET /api/v1/audit.
type ListAuditResponse struct {
	List          []AuditEvent `json:"list"`
	NextPageToken string       `json:"nextPageToken"`
}

// TokenIntrospection is the body of RFC 7662 POST /auth/v1/introspect.
type TokenIntrospection struct {
	Active    bool   `json:"active"`
	ClientID  string `json:"client_id,omitempty"`
	Sub       string `json:"sub,omitempty"`
	Iss       string `json:"iss,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Jti       string `json:"jti,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	// Cnf is set for a DPoP-bound token (token_type DPoP): RFC 9449 §6.2.
	Cnf *Confirmation `json:"cnf,omitempty"`
}

// Confirmation is RFC 7800's cnf member with RFC 9449's jkt: the
// base64url RFC 7638 thumbprint of the key a token is bound to.
type Confirmation struct {
	JKT string `json:"jkt"`
}
