package apitype

import (
	"time"

	"github.com/conncred/conncred"
)

// Paths of the policy wing's conncred extensions: the server default, an
// app's and a connector's policy.
const (
	PathServerPolicy    = "/api/v1/policy"
	PathAppPolicy       = "/api/v1/apps/{app_id}/policy"
	PathConnectorPolicy = "/api/v1/apps/{app_id}/connectors/{connector_id}/policy"
)

// Policy is what one scope sets. An absent (or null) field is inherited
// from the scope above; "0s" is none (no maximum, no dormancy events, no
// auto-revoke) and [] is no expiry warnings.
type Policy struct {
	MaxLifetime       *Duration   `json:"maxLifetime,omitempty"`
	ExpiryWarnings    *[]Duration `json:"expiryWarnings,omitempty"`
	DormancyThreshold *Duration   `json:"dormancyThreshold,omitempty"`
	AutoRevokeAfter   *Duration   `json:"autoRevokeAfter,omitempty"`
	// RequireDPoP: token requests of the connector credentials below must
	// carry a DPoP proof, besides those whose own flag says so.
	RequireDPoP *bool `json:"requireDpop,omitempty"`
	// OfflineAfter: a connector with a baton host not heard for this long
	// gets a connector.offline event ("0s": not watched).
	OfflineAfter *Duration  `json:"offlineAfter,omitempty"`
	UpdatedAt    *time.Time `json:"updatedAt,omitempty"`
}

// EffectivePolicy is how a scope's policy resolves for the credentials
// below it: every field's value, and in From the scope that set it
// ("connector", "app", "server", or "flags" for the serve flags).
type EffectivePolicy struct {
	MaxLifetime       Duration          `json:"maxLifetime"`
	ExpiryWarnings    []Duration        `json:"expiryWarnings"`
	DormancyThreshold Duration          `json:"dormancyThreshold"`
	AutoRevokeAfter   Duration          `json:"autoRevokeAfter"`
	RequireDPoP       bool              `json:"requireDpop"`
	OfflineAfter      Duration          `json:"offlineAfter"`
	From              map[string]string `json:"from"`
}

// PolicyResponse is the body of GET and POST on a policy path.
type PolicyResponse struct {
	Scope     string          `json:"scope"` // server, app, connector
	ScopeID   string          `json:"scopeId,omitempty"`
	Policy    Policy          `json:"policy"`
	Effective EffectivePolicy `json:"effective"`
}

// SetPolicyRequest is the body of POST on a policy path: with an
// updateMask only the named fields change (a named field left out is
// inherited again); without one the scope's whole policy is replaced.
type SetPolicyRequest struct {
	Policy     *Policy   `json:"policy"`
	UpdateMask FieldMask `json:"updateMask"`
}

// Validate reports what is wrong with the request; the ranges are the
// policy's own to check.
func (r *SetPolicyRequest) Validate() error {
	if r.Policy == nil {
		return conncred.Errorf(conncred.EInvalid, "policy is required, e.g. {\"policy\":{\"maxLifetime\":\"2160h\"}}")
	}
	return nil
}
