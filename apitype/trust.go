package apitype

import (
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/federation/trustdb"
)

// PathTrusts is the collection of workload federation trusts, a conncred
// extension beside the personal clients.
const PathTrusts = "/api/v1/iam/workload_federation_trusts"

// Trust is a workload federation trust as the API shows it. It holds no
// secret, so every response may carry all of it.
type Trust struct {
	ID               string     `json:"id"`
	ClientID         string     `json:"clientId"`
	DisplayName      string     `json:"displayName"`
	Issuer           string     `json:"issuer"`
	Audiences        []string   `json:"audiences"`
	Condition        string     `json:"condition"`
	Role             string     `json:"role"`
	AppID            string     `json:"appId,omitempty"`
	ConnectorID      string     `json:"connectorId,omitempty"`
	MaxTokenLifetime Duration   `json:"maxTokenLifetime,omitempty"`
	RequireDPoP      bool       `json:"requireDpop"`
	CreatedAt        *time.Time `json:"createdAt"`
	UpdatedAt        *time.Time `json:"updatedAt"`
	DeletedAt        *time.Time `json:"deletedAt"`
	LastUsedAt       *time.Time `json:"lastUsedAt"`
}

// FromTrust converts a stored trust to its wire form.
func FromTrust(t trustdb.Trust) *Trust {
	aud := t.Audiences
	if aud == nil {
		aud = []string{}
	}
	return &Trust{
		ID: t.ID, ClientID: t.ClientID, DisplayName: t.DisplayName, Issuer: t.Issuer, Audiences: aud,
		Condition: t.Condition, Role: string(t.Role), AppID: t.AppID, ConnectorID: t.ConnectorID,
		MaxTokenLifetime: Duration(t.MaxTokenLifetime), RequireDPoP: t.RequireDPoP,
		CreatedAt: utc(&t.CreatedAt), UpdatedAt: utc(&t.UpdatedAt), DeletedAt: utc(t.DeletedAt), LastUsedAt: utc(t.LastUsedAt),
	}
}

// TrustInput is the settable part of a trust: all of a create, the fields
// an update's mask names.
type TrustInput struct {
	DisplayName      string   `json:"displayName,omitempty"`
	Issuer           string   `json:"issuer,omitempty"`
	Audiences        []string `json:"audiences,omitempty"`
	Condition        string   `json:"condition,omitempty"`
	Role             string   `json:"role,omitempty"`
	AppID            string   `json:"appId,omitempty"`
	ConnectorID      string   `json:"connectorId,omitempty"`
	MaxTokenLifetime Duration `json:"maxTokenLifetime,omitempty"`
	RequireDPoP      bool     `json:"requireDpop,omitempty"`
}

// CreateTrustRequest is the body of POST /api/v1/iam/workload_federation_trusts.
type CreateTrustRequest struct {
	TrustInput
}

// Validate reports what is wrong with the request's form; the rules (the
// issuer, the condition, the principal) are the federation package's.
func (r *CreateTrustRequest) Validate() error {
	if r.Issuer == "" {
		return conncred.Errorf(conncred.EInvalid, "issuer is required: the URL the subject tokens' iss claim names, e.g. https://token.actions.githubusercontent.com")
	}
	if r.Role == "" {
		return conncred.Errorf(conncred.EInvalid, "role is required: \"connector\" (with appId and connectorId) or \"admin\"")
	}
	return nil
}

// UpdateTrustRequest is the body of POST /api/v1/iam/workload_federation_trusts/{id}.
type UpdateTrustRequest struct {
	Trust      *TrustInput `json:"trust"`
	UpdateMask FieldMask   `json:"updateMask"`
}

// Validate reports what is wrong with the request's form.
func (r *UpdateTrustRequest) Validate() error {
	if r.Trust == nil {
		return conncred.Errorf(conncred.EInvalid, "trust is required: the fields to change, named in updateMask")
	}
	return nil
}

// TrustResponse is the body of a trust create, get, update or delete.
type TrustResponse struct {
	Trust *Trust `json:"trust"`
}

// ListTrustsResponse is the body of the trust list.
type ListTrustsResponse struct {
	List          []*Trust `json:"list"`
	NextPageToken string   `json:"nextPageToken"`
}
