package apitype

import (
	"strings"
	"time"

	"github.com/conncred/conncred"
)

// PathSearchPersonalClients is ConductorOne's personal-client search.
const PathSearchPersonalClients = "/api/v1/search/iam/personal_clients"

// PersonalClient is ConductorOne's PersonalClient: an admin credential
// (its fields promoted from the embedded ConnectorCredential, which leaves
// appId and connectorId out for admins) with the official fields kept
// beside it.
type PersonalClient struct {
	*ConnectorCredential
	AllowSourceCidr []string `json:"allowSourceCidr,omitempty"`
	ScopedRoles     []string `json:"scopedRoles,omitempty"`
}

// Credential returns the admin credential's fields, or nil. It is safe
// on a nil receiver.
func (p *PersonalClient) Credential() *ConnectorCredential {
	if p == nil {
		return nil
	}
	return p.ConnectorCredential
}

// CreatePersonalClientRequest is ConductorOne's
// PersonalClientServiceCreateRequest. expires is a protobuf Duration
// ("7776000s"); expiresTime is a conncred extension kept from the admin
// create.
type CreatePersonalClientRequest struct {
	DisplayName     string     `json:"displayName,omitempty"`
	Expires         Duration   `json:"expires,omitempty"`
	ExpiresTime     *time.Time `json:"expiresTime,omitempty"`
	AllowSourceCidr []string   `json:"allowSourceCidr,omitempty"`
	ScopedRoles     []string   `json:"scopedRoles,omitempty"`
}

// Validate reports what is wrong with the request's form; the networks and
// roles are checked by package personal.
func (r *CreatePersonalClientRequest) Validate() error {
	rr := RotateCredentialRequest{DisplayName: r.DisplayName, Expires: r.Expires, ExpiresTime: r.ExpiresTime}
	return rr.Validate()
}

// CreateAdminRequest is the create's old name, kept for conncred's client.
type CreateAdminRequest = CreatePersonalClientRequest

// PersonalClientInput is ConductorOne's PersonalClientInput, the settable
// fields of an update.
type PersonalClientInput struct {
	DisplayName     *string    `json:"displayName,omitempty"`
	ExpiresTime     *time.Time `json:"expiresTime,omitempty"`
	AllowSourceCidr []string   `json:"allowSourceCidr,omitempty"`
	ScopedRoles     []string   `json:"scopedRoles,omitempty"`
}

// UpdatePersonalClientRequest is ConductorOne's
// PersonalClientServiceUpdateRequest: {client, updateMask}, the mask a
// comma-separated string ("displayName,allowSourceCidr").
type UpdatePersonalClientRequest struct {
	Client     *PersonalClientInput `json:"client"`
	UpdateMask FieldMask            `json:"updateMask"`
}

// Validate reports what is wrong with the request's form.
func (r *UpdatePersonalClientRequest) Validate() error {
	if r.Client == nil {
		return conncred.Errorf(conncred.EInvalid, "client is required: the fields to change, named in updateMask")
	}
	if r.Client.DisplayName != nil {
		if err := checkName("client.displayName", *r.Client.DisplayName, false); err != nil {
			return err
		}
	}
	return nil
}

// SearchPersonalClientsRequest is ConductorOne's
// PersonalClientSearchServiceSearchRequest.
type SearchPersonalClientsRequest struct {
	Query     string    `json:"query,omitempty"`
	Users     []UserRef `json:"users,omitempty"`
	PageSize  int       `json:"pageSize,omitempty"`
	PageToken string    `json:"pageToken,omitempty"`
}

// UserRef is ConductorOne's UserRef.
type UserRef struct {
	ID string `json:"id"`
}

// Validate reports what is wrong with the request's form.
func (r *SearchPersonalClientsRequest) Validate() error {
	if r.PageSize < 0 {
		return conncred.Errorf(conncred.EInvalid, "pageSize must not be negative")
	}
	if len(strings.TrimSpace(r.Query)) > MaxNameLen {
		return conncred.Errorf(conncred.EInvalid, "query is longer than %d characters", MaxNameLen)
	}
	return checkText("pageToken", r.PageToken, 512)
}
