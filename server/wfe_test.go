package server

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Copies of the official Go SDK's model shapes (conductorone-sdk-go
// e0eec7b5, pkg/models/shared), field for field, so that the answers are
// decoded as the SDK decodes them.
type sdkWfeProvider struct {
	CreatedAt         *time.Time `json:"createdAt,omitempty"`
	Description       *string    `json:"description,omitempty"`
	Disabled          *bool      `json:"disabled,omitempty"`
	DisplayName       *string    `json:"displayName,omitempty"`
	ID                *string    `json:"id,omitempty"`
	IssuerURL         *string    `json:"issuerUrl,omitempty"`
	UpdatedAt         *time.Time `json:"updatedAt,omitempty"`
	WellKnownProvider *string    `json:"wellKnownProvider,omitempty"`
}

type sdkWfeTrust struct {
	AllowSourceCidrs    []string   `json:"allowSourceCidrs,omitempty"`
	ClientID            *string    `json:"clientId,omitempty"`
	ConditionExpression *string    `json:"conditionExpression,omitempty"`
	CreatedAt           *time.Time `json:"createdAt,omitempty"`
	Description         *string    `json:"description,omitempty"`
	Disabled            *bool      `json:"disabled,omitempty"`
	DisplayName         *string    `json:"displayName,omitempty"`
	PassthroughClaims   []string   `json:"passthroughClaims,omitempty"`
	ProviderID          *string    `json:"providerId,omitempty"`
	ScopedRoleIds       []string   `json:"scopedRoleIds,omitempty"`
	ServicePrincipalID  *string    `json:"servicePrincipalId,omitempty"`
	UpdatedAt           *time.Time `json:"updatedAt,omitempty"`
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// checkWfeOperations drives the official WorkloadFederationService with
// the SDK's exact JSON, through the checker (so every answer validates
// against the OpenAPI document), and returns the statuses it covered.
func checkWfeOperations(t *testing.T, c *checker, e *env, appID string) map[string][]int {
	t.Helper()
	admin := e.admin
	const unknown = "2HErg7BRmNdHgX8sTCWVq4E1fyh"
	b := c.call("POST", "/api/v1/apps/"+appID+"/connectors", jsonHeaders(admin), `{"displayName":"workload"}`, 200, true)
	sp := jsonField(t, b, "connectorView", "connector", "id")

	// Providers.
	b = c.call("POST", "/api/v1/workload_federation/providers", jsonHeaders(admin),
		`{"displayName":"GitHub","description":"CI","issuerUrl":"https://Token.Actions.GithubUserContent.com/","wellKnownProvider":"WELL_KNOWN_WORKLOAD_PROVIDER_GITHUB_ACTIONS"}`, 200, true)
	var pr struct{ Provider sdkWfeProvider }
	if err := json.Unmarshal(b, &pr); err != nil {
		t.Fatalf("provider into the SDK's shape: %v", err)
	}
	pid := deref(pr.Provider.ID)
	if got, want := deref(pr.Provider.IssuerURL), "https://token.actions.githubusercontent.com"; got != want {
		t.Errorf("issuerUrl: got %q, want %q (normalized)", got, want)
	}
	for _, bad := range []string{
		`{"issuerUrl":"https://gitlab.example.com","wellKnownProvider":"WELL_KNOWN_WORKLOAD_PROVIDER_GITHUB_ACTIONS"}`, // not GitHub's issuer
		`{"issuerUrl":"https://issuer.example.com"}`,                                                          // no kind
		`{"issuerUrl":"http://issuer.example.com","wellKnownProvider":"WELL_KNOWN_WORKLOAD_PROVIDER_CUSTOM"}`, // not https
		`{"issuerUrl":"https://issuer.example.com","wellKnownProvider":"WELL_KNOWN_WORKLOAD_PROVIDER_CUSTOM","disabled":true}`,
	} {
		c.call("POST", "/api/v1/workload_federation/providers", jsonHeaders(admin), bad, 400, false)
	}
	c.call("GET", "/api/v1/workload_federation/providers", bearer(admin), "", 200, true)
	c.call("GET", "/api/v1/workload_federation/providers?page_size=x", bearer(admin), "", 400, true)
	c.call("GET", "/api/v1/workload_federation/providers/"+pid, bearer(admin), "", 200, true)
	c.call("GET", "/api/v1/workload_federation/providers/"+unknown, bearer(admin), "", 404, true)
	b = c.call("PATCH", "/api/v1/workload_federation/providers/"+pid, jsonHeaders(admin), `{"provider":{"displayName":"GitHub Actions"},"updateMask":"displayName"}`, 200, true)
	if got := jsonField(t, b, "provider", "displayName"); got != "GitHub Actions" {
		t.Errorf("provider update: displayName %q", got)
	}
	c.call("PATCH", "/api/v1/workload_federation/providers/"+pid, jsonHeaders(admin), `{"provider":{},"updateMask":"issuerUrl"}`, 400, true)
	c.call("PATCH", "/api/v1/workload_federation/providers/"+unknown, jsonHeaders(admin), `{"provider":{"displayName":"x"}}`, 404, true)

	// Trusts under the connector as service principal.
	trusts := "/api/v1/service_principals/" + sp + "/trusts"
	b = c.call("POST", trusts, jsonHeaders(admin),
		`{"displayName":"main","description":"deploys from main","providerId":"`+pid+`","conditionExpression":"claims.repository == \"acme/connectors\" && claims.ref == \"refs/heads/main\""}`, 200, true)
	var tr struct{ Trust sdkWfeTrust }
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("trust into the SDK's shape: %v", err)
	}
	cid := deref(tr.Trust.ClientID)
	if !strings.HasSuffix(cid, "/wfe") || deref(tr.Trust.ServicePrincipalID) != sp || deref(tr.Trust.ProviderID) != pid || deref(tr.Trust.Description) != "deploys from main" {
		t.Errorf("created trust: %+v", tr.Trust)
	}
	// The SDK escapes the client id's slash in the path.
	one := trusts + "/" + url.PathEscape(cid)
	for _, bad := range []string{
		`{"providerId":"` + pid + `","conditionExpression":"claims.repository =="}`,            // does not compile
		`{"providerId":"` + pid + `","conditionExpression":"true","scopedRoleIds":["r1"]}`,     // not honoured
		`{"providerId":"` + pid + `","conditionExpression":"true","allowSourceCidrs":["::1"]}`, // not honoured
		`{"conditionExpression":"true"}`, // no provider
	} {
		c.call("POST", trusts, jsonHeaders(admin), bad, 400, false)
	}
	c.call("POST", "/api/v1/service_principals/"+unknown+"/trusts", jsonHeaders(admin), `{"providerId":"`+pid+`","conditionExpression":"true"}`, 404, true)
	c.call("GET", trusts, bearer(admin), "", 200, true)
	c.call("GET", trusts+"?page_size=x", bearer(admin), "", 400, true)
	c.call("GET", "/api/v1/service_principals/"+unknown+"/trusts", bearer(admin), "", 404, true)
	b = c.call("GET", one, bearer(admin), "", 200, true)
	if got := jsonField(t, b, "trust", "clientId"); got != cid {
		t.Errorf("get by escaped client id: got %q, want %q", got, cid)
	}
	c.call("GET", trusts+"/"+unknown, bearer(admin), "", 404, true)
	b = c.call("PATCH", one, jsonHeaders(admin), `{"trust":{"description":"main only","conditionExpression":"claims.ref == \"refs/heads/main\""},"updateMask":"description,conditionExpression"}`, 200, true)
	if jsonField(t, b, "trust", "description") != "main only" || jsonField(t, b, "trust", "displayName") != "main" {
		t.Errorf("trust update: %.300s", b)
	}
	c.call("PATCH", one, jsonHeaders(admin), `{"trust":{"disabled":true},"updateMask":"disabled"}`, 400, true)
	c.call("PATCH", trusts+"/"+unknown, jsonHeaders(admin), `{"trust":{"displayName":"x"}}`, 404, true)
	// conncred's own route sees the same record.
	b = c.call("GET", "/api/v1/iam/workload_federation_trusts?page_size=100", bearer(admin), "", 200, false)
	if !strings.Contains(string(b), `"conditionExpression"`) && !strings.Contains(string(b), `claims.ref == \"refs/heads/main\"`) {
		t.Errorf("conncred's list does not show the updated condition: %.300s", b)
	}

	// Search and test-cel.
	b = c.call("POST", "/api/v1/search/workload_federation_trusts", jsonHeaders(admin), `{"query":"MAIN ONLY","providerId":"`+pid+`","servicePrincipalId":"`+sp+`"}`, 200, true)
	if !strings.Contains(string(b), cid) {
		t.Errorf("search did not find %s: %.300s", cid, b)
	}
	c.call("POST", "/api/v1/search/workload_federation_trusts", jsonHeaders(admin), `{"pageSize":-1}`, 400, false)
	b = c.call("POST", "/api/v1/workload_federation/test-cel", jsonHeaders(admin), `{"expression":"claims.sub.startsWith(\"repo:acme/\")","claimsJson":"{\"sub\":\"repo:acme/infra:ref:refs/heads/main\"}"}`, 200, true)
	if !strings.Contains(string(b), `"matched":true`) {
		t.Errorf("test-cel: %s", b)
	}
	b = c.call("POST", "/api/v1/workload_federation/test-cel", jsonHeaders(admin), `{"expression":"claims.sub ==","claimsJson":"{}"}`, 200, true)
	if jsonField(t, b, "error") == "" {
		t.Errorf("test-cel of a bad expression: no error in %s", b)
	}
	c.call("POST", "/api/v1/workload_federation/test-cel", jsonHeaders(admin), `{"expression":"true","claimsJson":"[1]"}`, 400, true)

	// A provider with a live trust is kept; deleted after its trust.
	c.call("DELETE", "/api/v1/workload_federation/providers/"+pid, bearer(admin), "", 400, true)
	c.call("DELETE", one, bearer(admin), "", 200, true)
	c.call("DELETE", one, bearer(admin), "", 404, true)
	c.call("DELETE", "/api/v1/workload_federation/providers/"+pid, bearer(admin), "", 200, true)
	c.call("DELETE", "/api/v1/workload_federation/providers/"+pid, bearer(admin), "", 404, true)
	c.call("GET", "/api/v1/workload_federation/providers/"+pid, bearer(admin), "", 404, true)

	return map[string][]int{
		"createWorkloadFederationProvider": {400},
		"listWorkloadFederationProviders":  {400},
		"getWorkloadFederationProvider":    {404},
		"updateWorkloadFederationProvider": {400, 404},
		"deleteWorkloadFederationProvider": {400, 404},
		"createWorkloadFederationTrust":    {400, 404},
		"listWorkloadFederationTrusts":     {400, 404},
		"getWorkloadFederationTrust":       {404},
		"updateWorkloadFederationTrust":    {400, 404},
		"deleteWorkloadFederationTrust":    {404},
		"searchWorkloadFederationTrusts":   {400},
		"testWorkloadFederationCEL":        {400},
	}
}
