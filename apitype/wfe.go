package apitype

import (
	"time"

	"github.com/conncred/conncred"
)

// The official WorkloadFederationService's paths (SDK e0eec7b5).
const (
	PathWfeProviders   = "/api/v1/workload_federation/providers"
	PathWfeTestCEL     = "/api/v1/workload_federation/test-cel"
	PathWfeSearch      = "/api/v1/search/workload_federation_trusts"
	PathServiceTrusts  = "/api/v1/service_principals/{service_principal_id}/trusts"
	PathServiceTrustID = PathServiceTrusts + "/{client_id}"
)

// WfeProvider is ConductorOne's WorkloadFederationProvider.
type WfeProvider struct {
	ID                string     `json:"id"`
	DisplayName       string     `json:"displayName"`
	Description       string     `json:"description,omitempty"`
	IssuerURL         string     `json:"issuerUrl"`
	WellKnownProvider string     `json:"wellKnownProvider"`
	Disabled          bool       `json:"disabled"`
	CreatedAt         *time.Time `json:"createdAt"`
	UpdatedAt         *time.Time `json:"updatedAt"`
}

// WfeProviderInput is ConductorOne's WorkloadFederationProviderInput.
type WfeProviderInput struct {
	DisplayName *string `json:"displayName,omitempty"`
	Description *string `json:"description,omitempty"`
	Disabled    *bool   `json:"disabled,omitempty"`
}

// CreateWfeProviderRequest is WorkloadFederationServiceCreateProviderRequest.
type CreateWfeProviderRequest struct {
	WfeProviderInput
	IssuerURL         string `json:"issuerUrl"`
	WellKnownProvider string `json:"wellKnownProvider"`
}

// Validate leaves the rules to package wfe.
func (r *CreateWfeProviderRequest) Validate() error { return nil }

// UpdateWfeProviderRequest is WorkloadFederationServiceUpdateProviderRequest.
type UpdateWfeProviderRequest struct {
	Provider   *WfeProviderInput `json:"provider"`
	UpdateMask FieldMask         `json:"updateMask"`
}

// Validate reports a missing provider.
func (r *UpdateWfeProviderRequest) Validate() error {
	if r.Provider == nil {
		return conncred.Errorf(conncred.EInvalid, "provider is required: the fields to change, named in updateMask")
	}
	return nil
}

// WfeProviderResponse is the body of a provider create, get or update.
type WfeProviderResponse struct {
	Provider *WfeProvider `json:"provider"`
}

// ListWfeProvidersResponse is the provider list.
type ListWfeProvidersResponse struct {
	List          []*WfeProvider `json:"list"`
	NextPageToken string         `json:"nextPageToken"`
}

// WfeTrust is ConductorOne's WorkloadFederationTrust.
type WfeTrust struct {
	ClientID            string     `json:"clientId"`
	DisplayName         string     `json:"displayName"`
	Description         string     `json:"description,omitempty"`
	ConditionExpression string     `json:"conditionExpression"`
	ProviderID          string     `json:"providerId,omitempty"`
	ServicePrincipalID  string     `json:"servicePrincipalId,omitempty"`
	Disabled            bool       `json:"disabled"`
	AllowSourceCidrs    []string   `json:"allowSourceCidrs"`
	PassthroughClaims   []string   `json:"passthroughClaims"`
	ScopedRoleIds       []string   `json:"scopedRoleIds"`
	CreatedAt           *time.Time `json:"createdAt"`
	UpdatedAt           *time.Time `json:"updatedAt"`
}

// WfeTrustInput is ConductorOne's WorkloadFederationTrustInput.
type WfeTrustInput struct {
	DisplayName         *string  `json:"displayName,omitempty"`
	Description         *string  `json:"description,omitempty"`
	ConditionExpression *string  `json:"conditionExpression,omitempty"`
	Disabled            *bool    `json:"disabled,omitempty"`
	AllowSourceCidrs    []string `json:"allowSourceCidrs,omitempty"`
	PassthroughClaims   []string `json:"passthroughClaims,omitempty"`
	ScopedRoleIds       []string `json:"scopedRoleIds,omitempty"`
}

// CreateWfeTrustRequest is WorkloadFederationServiceCreateTrustRequest.
type CreateWfeTrustRequest struct {
	WfeTrustInput
	ProviderID string `json:"providerId"`
}

// Validate leaves the rules to package wfe.
func (r *CreateWfeTrustRequest) Validate() error { return nil }

// UpdateWfeTrustRequest is WorkloadFederationServiceUpdateTrustRequest.
type UpdateWfeTrustRequest struct {
	Trust      *WfeTrustInput `json:"trust"`
	UpdateMask FieldMask      `json:"updateMask"`
}

// Validate reports a missing trust.
func (r *UpdateWfeTrustRequest) Validate() error {
	if r.Trust == nil {
		return conncred.Errorf(conncred.EInvalid, "trust is required: the fields to change, named in updateMask")
	}
	return nil
}

// WfeTrustResponse is the body of a trust create, get or update.
type WfeTrustResponse struct {
	Trust *WfeTrust `json:"trust"`
}

// ListWfeTrustsResponse is a trust list or search.
type ListWfeTrustsResponse struct {
	List          []*WfeTrust `json:"list"`
	NextPageToken string      `json:"nextPageToken"`
}

// SearchWfeTrustsRequest is WorkloadFederationServiceSearchTrustsRequest.
type SearchWfeTrustsRequest struct {
	Query              string `json:"query,omitempty"`
	ProviderID         string `json:"providerId,omitempty"`
	ServicePrincipalID string `json:"servicePrincipalId,omitempty"`
	PageSize           int    `json:"pageSize,omitempty"`
	PageToken          string `json:"pageToken,omitempty"`
}

// Validate reports a negative page size.
func (r *SearchWfeTrustsRequest) Validate() error {
	if r.PageSize < 0 {
		return conncred.Errorf(conncred.EInvalid, "pageSize must not be negative")
	}
	return nil
}

// TestCELRequest is WorkloadFederationServiceTestCELRequest.
type TestCELRequest struct {
	Expression string `json:"expression"`
	ClaimsJSON string `json:"claimsJson"`
}

// Validate leaves the rules to package wfe.
func (r *TestCELRequest) Validate() error { return nil }

// TestCELResponse is WorkloadFederationServiceTestCELResponse.
type TestCELResponse struct {
	Expression string `json:"expression"`
	Matched    bool   `json:"matched"`
	Error      string `json:"error,omitempty"`
}
