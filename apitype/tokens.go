package apitype

import "time"

// OAuthError is the body of a failed token or introspection request (RFC 6749 §5.2).
type OAuthError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description,omitempty"`
}

// TokenResponse is the body of a successful token request (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	// IssuedTokenType is set by an RFC 8693 token exchange (§2.2.1).
	IssuedTokenType string `json:"issued_token_type,omitempty"`
}

// IntrospectResponse is the body of GET /api/v1/auth/introspect. The field
// name principleId (sic) is ConductorOne's.
type IntrospectResponse struct {
	PrincipleID string   `json:"principleId"`
	UserID      string   `json:"userId"`
	Roles       []string `json:"roles"`
	Permissions []string `json:"permissions"`
	Features    []string `json:"features"`
	// conncred extensions, ignored by official clients.
	ClientID     string     `json:"clientId,omitempty"`
	CredentialID string     `json:"credentialId,omitempty"`
	AppID        string     `json:"appId,omitempty"`
	ConnectorID  string     `json:"connectorId,omitempty"`
	ExpiresAt    *time.Time `json:"expiresAt,omitempty"`
}
