// Package apitype holds the JSON shapes of conncred's HTTP API, shared by the
// server (which writes responses and reads requests) and the Go client (which
// does the reverse). The shapes follow ConductorOne's REST gateway: field
// names in lowerCamelCase, timestamps in RFC 3339 UTC, unset timestamps
// null, and every response field optional so that older or newer peers
// decode what they know and ignore the rest.
package apitype

import (
	"time"

	"github.com/conncred/conncred"
)

// ConnectorCredential is a connector (or admin) client credential as the API
// shows it. Fields are pointers, as in ConductorOne's SDK model, so that code
// written against that model ports over and "absent" is distinguishable from
// "empty". ClientSecret is set only in the response of the call that created
// the credential.
type ConnectorCredential struct {
	ID           *string    `json:"id,omitempty"`
	AppID        *string    `json:"appId,omitempty"`
	ConnectorID  *string    `json:"connectorId,omitempty"`
	ClientID     *string    `json:"clientId,omitempty"`
	ClientSecret *string    `json:"clientSecret,omitempty"`
	DisplayName  *string    `json:"displayName,omitempty"`
	CreatedAt    *time.Time `json:"createdAt"`
	UpdatedAt    *time.Time `json:"updatedAt"`
	DeletedAt    *time.Time `json:"deletedAt"`
	ExpiresTime  *time.Time `json:"expiresTime"`
	LastUsedAt   *time.Time `json:"lastUsedAt"`
}

// GetID returns the credential id, or nil. It is safe on a nil receiver.
func (o *ConnectorCredential) GetID() *string {
	if o == nil {
		return nil
	}
	return o.ID
}

// GetAppID returns the app id, or nil. It is safe on a nil receiver.
func (o *ConnectorCredential) GetAppID() *string {
	if o == nil {
		return nil
	}
	return o.AppID
}

// GetConnectorID returns the connector id, or nil. It is safe on a nil receiver.
func (o *ConnectorCredential) GetConnectorID() *string {
	if o == nil {
		return nil
	}
	return o.ConnectorID
}

// GetClientID returns the client id, or nil. It is safe on a nil receiver.
func (o *ConnectorCredential) GetClientID() *string {
	if o == nil {
		return nil
	}
	return o.ClientID
}

// GetClientSecret returns the secret (set only on creation), or nil. It is
// safe on a nil receiver.
func (o *ConnectorCredential) GetClientSecret() *string {
	if o == nil {
		return nil
	}
	return o.ClientSecret
}

// GetDisplayName returns the display name, or nil. It is safe on a nil receiver.
func (o *ConnectorCredential) GetDisplayName() *string {
	if o == nil {
		return nil
	}
	return o.DisplayName
}

// GetCreatedAt returns the creation time, or nil. It is safe on a nil receiver.
func (o *ConnectorCredential) GetCreatedAt() *time.Time {
	if o == nil {
		return nil
	}
	return o.CreatedAt
}

// GetUpdatedAt returns the last update time, or nil. It is safe on a nil receiver.
func (o *ConnectorCredential) GetUpdatedAt() *time.Time {
	if o == nil {
		return nil
	}
	return o.UpdatedAt
}

// GetDeletedAt returns the revocation time, or nil. It is safe on a nil receiver.
func (o *ConnectorCredential) GetDeletedAt() *time.Time {
	if o == nil {
		return nil
	}
	return o.DeletedAt
}

// GetExpiresTime returns the expiry, or nil for none. It is safe on a nil receiver.
func (o *ConnectorCredential) GetExpiresTime() *time.Time {
	if o == nil {
		return nil
	}
	return o.ExpiresTime
}

// GetLastUsedAt returns the last successful token exchange, or nil. It is
// safe on a nil receiver.
func (o *ConnectorCredential) GetLastUsedAt() *time.Time {
	if o == nil {
		return nil
	}
	return o.LastUsedAt
}

// App is an app as the API shows it.
type App struct {
	ID          *string    `json:"id,omitempty"`
	DisplayName *string    `json:"displayName,omitempty"`
	Description *string    `json:"description,omitempty"`
	CreatedAt   *time.Time `json:"createdAt"`
	UpdatedAt   *time.Time `json:"updatedAt"`
	DeletedAt   *time.Time `json:"deletedAt"`
}

// Connector is a connector as the API shows it.
type Connector struct {
	ID          *string    `json:"id,omitempty"`
	AppID       *string    `json:"appId,omitempty"`
	CatalogID   *string    `json:"catalogId,omitempty"`
	DisplayName *string    `json:"displayName,omitempty"`
	Description *string    `json:"description,omitempty"`
	UserIDs     []string   `json:"userIds"`
	CreatedAt   *time.Time `json:"createdAt"`
	UpdatedAt   *time.Time `json:"updatedAt"`
	DeletedAt   *time.Time `json:"deletedAt"`
	// The sync fields of the official record, set by a server that runs
	// connector tasks: the latest sync's status, when syncs were paused,
	// and whether they can be resumed.
	Status         *ConnectorSyncStatus `json:"status,omitempty"`
	SyncDisabledAt *time.Time           `json:"syncDisabledAt,omitempty"`
	CanResumeSync  *bool                `json:"canResumeSync,omitempty"`
}

// ConnectorView wraps a connector with the links ConductorOne's API adds.
type ConnectorView struct {
	Connector        *Connector `json:"connector,omitempty"`
	AppPath          *string    `json:"appPath,omitempty"`
	CapabilitiesPath *string    `json:"capabilitiesPath,omitempty"`
	UsersPath        *string    `json:"usersPath,omitempty"`
}

// FromApp converts a stored app to its wire form.
func FromApp(a conncred.App) *App {
	return &App{
		ID:          ptr(a.ID),
		DisplayName: ptr(a.DisplayName),
		Description: ptr(a.Description),
		CreatedAt:   utc(&a.CreatedAt),
		UpdatedAt:   utc(&a.UpdatedAt),
		DeletedAt:   utc(a.DeletedAt),
	}
}

// FromConnector converts a stored connector to its wire view.
func FromConnector(c conncred.Connector) *ConnectorView {
	users := c.UserIDs
	if users == nil {
		users = []string{}
	}
	return &ConnectorView{
		Connector: &Connector{
			ID:          ptr(c.ID),
			AppID:       ptr(c.AppID),
			CatalogID:   ptr(c.CatalogID),
			DisplayName: ptr(c.DisplayName),
			Description: ptr(c.Description),
			UserIDs:     users,
			CreatedAt:   utc(&c.CreatedAt),
			UpdatedAt:   utc(&c.UpdatedAt),
			DeletedAt:   utc(c.DeletedAt),
		},
		AppPath: ptr("/api/v1/apps/" + c.AppID),
	}
}

// FromCredential converts a stored credential to its wire form, without a
// secret (the store never has one).
func FromCredential(c conncred.Credential) *ConnectorCredential {
	return &ConnectorCredential{
		ID:          ptr(c.ID),
		AppID:       optional(c.AppID),
		ConnectorID: optional(c.ConnectorID),
		ClientID:    ptr(c.ClientID),
		DisplayName: ptr(c.DisplayName),
		CreatedAt:   utc(&c.CreatedAt),
		UpdatedAt:   utc(&c.UpdatedAt),
		DeletedAt:   utc(c.DeletedAt),
		ExpiresTime: utc(c.ExpiresAt),
		LastUsedAt:  utc(c.LastUsedAt),
	}
}

func ptr[T any](v T) *T { return &v }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// utc copies t in UTC, so the wire always says "Z", and maps the zero time
// (never set) to null.
func utc(t *time.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
