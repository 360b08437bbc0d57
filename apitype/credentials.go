package apitype

import (
	"time"

	"github.com/conncred/conncred"
)

// RotateCredentialRequest is the body of a credential rotate. On the current
// path appId and connectorId come in the body; on the legacy path they come
// from the URL and the body is empty. DisplayName, Expires and ExpiresTime
// are conncred extensions.
type RotateCredentialRequest struct {
	AppID       string     `json:"appId,omitempty"`
	ConnectorID string     `json:"connectorId,omitempty"`
	DisplayName string     `json:"displayName,omitempty"`
	Expires     Duration   `json:"expires,omitempty"`
	ExpiresTime *time.Time `json:"expiresTime,omitempty"`
	// The lifecycle options (conncred extensions; see apitype/lifecycle.go).
	RetirePreviousAfter Duration   `json:"retirePreviousAfter,omitempty"`
	RetireCredentialID  string     `json:"retireCredentialId,omitempty"`
	PublicKey           *PublicJWK `json:"publicKey,omitempty"`
}

// Validate reports what is wrong with the request; appId and connectorId are
// checked by the caller, which knows which path they came from.
func (r *RotateCredentialRequest) Validate() error {
	if err := checkName("displayName", r.DisplayName, false); err != nil {
		return err
	}
	if r.Expires < 0 {
		return conncred.Errorf(conncred.EInvalid, "expires must be a positive duration such as \"720h\" or \"2592000s\"")
	}
	if r.Expires != 0 && r.ExpiresTime != nil {
		return conncred.Errorf(conncred.EInvalid, "give expires or expiresTime, not both")
	}
	if r.RetirePreviousAfter < 0 {
		return conncred.Errorf(conncred.EInvalid, "retirePreviousAfter must be a positive duration such as \"24h\"")
	}
	return checkText("retireCredentialId", r.RetireCredentialID, MaxIDLen)
}

// HasLifecycle reports whether the request uses a lifecycle option, which
// package lifecycle serves.
func (r *RotateCredentialRequest) HasLifecycle() bool {
	return r.RetirePreviousAfter != 0 || r.RetireCredentialID != "" || r.PublicKey != nil
}

// RotateCredentialResponse is the body of a rotate on either path. The secret
// is both inside the credential (SDK 1.26 and later read it there) and at the
// top level (the legacy SDK reads it there).
type RotateCredentialResponse struct {
	Credential *ConnectorCredential `json:"credential"`
	// ClientSecret is absent when the caller brought the public key.
	ClientSecret string `json:"clientSecret,omitempty"`
	// Retired lists the credentials the rotate gave an expiry (conncred
	// extension: retirePreviousAfter, self-rotation).
	Retired []*ConnectorCredential `json:"retired,omitempty"`
}

// CredentialResponse is the body of a credential get.
type CredentialResponse struct {
	Credential *ConnectorCredential `json:"credential"`
}

// ListCredentialsResponse is the body of conncred's credential list.
type ListCredentialsResponse struct {
	List          []*ConnectorCredential `json:"list"`
	NextPageToken string                 `json:"nextPageToken"`
}
