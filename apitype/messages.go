package apitype

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/conncred/conncred"
)

// Limits on request fields. They keep stored rows and log lines bounded; real
// clients send far less.
const (
	MaxNameLen        = 200
	MaxDescriptionLen = 2000
	MaxIDLen          = 64
	MaxUserIDs        = 100
)

// Error is the body of every non-200 API response: google.rpc.Status as the
// REST gateway writes it.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details"`
}

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
}

// Empty is the body of a success that returns nothing.
type Empty struct{}

// CreateAppRequest is the body of POST /api/v1/apps.
type CreateAppRequest struct {
	DisplayName string `json:"displayName"`
	Description string `json:"description,omitempty"`
}

// Validate reports what is wrong with the request.
func (r *CreateAppRequest) Validate() error {
	if err := checkName("displayName", r.DisplayName, true); err != nil {
		return err
	}
	return checkText("description", r.Description, MaxDescriptionLen)
}

// AppResponse is the body of app create, get and update.
type AppResponse struct {
	App *App `json:"app"`
}

// ListAppsResponse is the body of GET /api/v1/apps.
type ListAppsResponse struct {
	List          []*App `json:"list"`
	NextPageToken string `json:"nextPageToken"`
}

// AppInput carries the fields an update may change.
type AppInput struct {
	DisplayName *string `json:"displayName,omitempty"`
	Description *string `json:"description,omitempty"`
}

// UpdateAppRequest is the body of POST /api/v1/apps/{id}.
type UpdateAppRequest struct {
	App        *AppInput `json:"app"`
	UpdateMask FieldMask `json:"updateMask"`
}

// Validate reports what is wrong with the request.
func (r *UpdateAppRequest) Validate() error {
	if r.App == nil {
		return conncred.Errorf(conncred.EInvalid, "app is required")
	}
	for _, p := range r.UpdateMask {
		switch p {
		case "displayName", "description":
		default:
			return conncred.Errorf(conncred.EInvalid, "updateMask: field %q cannot be updated (allowed: displayName, description)", truncate(p))
		}
	}
	if r.App.DisplayName != nil && r.UpdateMask.Has("displayName") {
		if err := checkName("app.displayName", *r.App.DisplayName, true); err != nil {
			return err
		}
	}
	if r.App.Description != nil {
		if err := checkText("app.description", *r.App.Description, MaxDescriptionLen); err != nil {
			return err
		}
	}
	return nil
}

// FieldMask is a protobuf FieldMask. The REST gateway writes it as one
// comma-separated string; the object form {"paths": [...]} is accepted too.
// Paths are kept in lowerCamelCase; snake_case paths are converted.
type FieldMask []string

// Has reports whether the mask names path. An empty mask names every field
// that the request sets, as the gateway treats it.
func (m FieldMask) Has(path string) bool {
	if len(m) == 0 {
		return true
	}
	for _, p := range m {
		if p == path {
			return true
		}
	}
	return false
}

// UnmarshalJSON accepts "a,b", {"paths":["a","b"]} and null.
func (m *FieldMask) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*m = splitMask(strings.Split(s, ","))
		return nil
	}
	var obj struct {
		Paths []string `json:"paths"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return conncred.Errorf(conncred.EInvalid, "updateMask must be a comma-separated string of field names")
	}
	*m = splitMask(obj.Paths)
	return nil
}

// MarshalJSON writes the gateway's string form.
func (m FieldMask) MarshalJSON() ([]byte, error) {
	return json.Marshal(strings.Join(m, ","))
}

func splitMask(parts []string) FieldMask {
	var out FieldMask
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p != "" {
			out = append(out, SnakeToCamel(p))
		}
	}
	return out
}

// CreateConnectorRequest is the body of POST /api/v1/apps/{app_id}/connectors
// (CreateDelegated) and of .../connectors/create.
type CreateConnectorRequest struct {
	CatalogID   string   `json:"catalogId,omitempty"`
	DisplayName string   `json:"displayName,omitempty"`
	Description string   `json:"description,omitempty"`
	UserIDs     []string `json:"userIds,omitempty"`
}

// Validate reports what is wrong with the request.
func (r *CreateConnectorRequest) Validate() error {
	if err := checkName("displayName", r.DisplayName, false); err != nil {
		return err
	}
	if err := checkText("description", r.Description, MaxDescriptionLen); err != nil {
		return err
	}
	if err := checkText("catalogId", r.CatalogID, MaxIDLen); err != nil {
		return err
	}
	return checkUserIDs(r.UserIDs)
}

// ConnectorResponse is the body of connector create, get and update.
type ConnectorResponse struct {
	ConnectorView *ConnectorView `json:"connectorView"`
	Expanded      []any          `json:"expanded"`
}

// ListConnectorsResponse is the body of GET /api/v1/apps/{app_id}/connectors.
type ListConnectorsResponse struct {
	List          []*ConnectorView `json:"list"`
	NextPageToken string           `json:"nextPageToken"`
	Expanded      []any            `json:"expanded"`
}

// ConnectorInput carries the fields an update may change.
type ConnectorInput struct {
	DisplayName *string  `json:"displayName,omitempty"`
	Description *string  `json:"description,omitempty"`
	UserIDs     []string `json:"userIds,omitempty"`
}

// UpdateConnectorRequest is the body of POST /api/v1/apps/{app_id}/connectors/{id}.
type UpdateConnectorRequest struct {
	Connector  *ConnectorInput `json:"connector"`
	UpdateMask FieldMask       `json:"updateMask"`
}

// Validate reports what is wrong with the request.
func (r *UpdateConnectorRequest) Validate() error {
	if r.Connector == nil {
		return conncred.Errorf(conncred.EInvalid, "connector is required")
	}
	for _, p := range r.UpdateMask {
		switch p {
		case "displayName", "description", "userIds":
		default:
			return conncred.Errorf(conncred.EInvalid, "updateMask: field %q cannot be updated (allowed: displayName, description, userIds)", truncate(p))
		}
	}
	if r.Connector.DisplayName != nil {
		if err := checkName("connector.displayName", *r.Connector.DisplayName, false); err != nil {
			return err
		}
	}
	if r.Connector.Description != nil {
		if err := checkText("connector.description", *r.Connector.Description, MaxDescriptionLen); err != nil {
			return err
		}
	}
	return checkUserIDs(r.Connector.UserIDs)
}

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

// CreateAdminRequest is the body of POST /api/v1/admin/clients (a conncred
// extension for managing personal-client admin credentials).
type CreateAdminRequest struct {
	DisplayName string     `json:"displayName,omitempty"`
	Expires     Duration   `json:"expires,omitempty"`
	ExpiresTime *time.Time `json:"expiresTime,omitempty"`
}

// Validate reports what is wrong with the request.
func (r *CreateAdminRequest) Validate() error {
	rr := RotateCredentialRequest{DisplayName: r.DisplayName, Expires: r.Expires, ExpiresTime: r.ExpiresTime}
	return rr.Validate()
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

// Duration is a protobuf Duration on the wire ("2592000s"); any Go duration
// string ("720h", "1h30m") is accepted too.
type Duration time.Duration

// UnmarshalJSON parses a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return conncred.Errorf(conncred.EInvalid, "a duration must be a string such as \"720h\" or \"2592000s\"")
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return conncred.Errorf(conncred.EInvalid, "%q is not a duration; use a form such as \"720h\" or \"2592000s\"", truncate(s))
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the protobuf form, whole seconds with an "s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// SnakeToCamel turns "display_name" into "displayName"; other names are
// returned unchanged.
func SnakeToCamel(s string) string {
	if !strings.Contains(s, "_") {
		return s
	}
	var b strings.Builder
	up := false
	for _, r := range s {
		if r == '_' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

func checkName(field, v string, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return conncred.Errorf(conncred.EInvalid, "%s is required", field)
	}
	return checkText(field, v, MaxNameLen)
}

func checkText(field, v string, max int) error {
	if !utf8.ValidString(v) {
		return conncred.Errorf(conncred.EInvalid, "%s is not valid UTF-8", field)
	}
	if len(v) > max {
		return conncred.Errorf(conncred.EInvalid, "%s is too long (%d bytes; at most %d)", field, len(v), max)
	}
	for _, r := range v {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return conncred.Errorf(conncred.EInvalid, "%s contains a control character", field)
		}
	}
	return nil
}

func checkUserIDs(ids []string) error {
	if len(ids) > MaxUserIDs {
		return conncred.Errorf(conncred.EInvalid, "userIds has %d entries; at most %d", len(ids), MaxUserIDs)
	}
	for _, id := range ids {
		if err := checkName("userIds[]", id, true); err != nil {
			return err
		}
	}
	return nil
}

// truncate shortens caller-supplied text quoted back in an error message.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// Validate accepts any body: Empty is the request of calls that take none.
func (Empty) Validate() error { return nil }
