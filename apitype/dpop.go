package apitype

import "github.com/conncred/conncred"

// PathCredentialDPoP is a conncred extension: whether a credential's
// token requests must carry a DPoP proof (RFC 9449). {id} is the
// credential id.
const PathCredentialDPoP = "/api/v1/iam/credentials/{id}/dpop"

// CredentialDPoPRequest is the body of POST PathCredentialDPoP.
type CredentialDPoPRequest struct {
	// RequireDPoP is required (a pointer, so a missing field is not read
	// as false and does not quietly turn the protection off).
	RequireDPoP *bool `json:"requireDpop"`
}

// Validate reports what is wrong with the request's form.
func (r *CredentialDPoPRequest) Validate() error {
	if r.RequireDPoP == nil {
		return conncred.Errorf(conncred.EInvalid, "requireDpop is required: true to refuse this credential's token requests without a DPoP proof, false to allow Bearer tokens")
	}
	return nil
}

// CredentialDPoPResponse is the answer of GET and POST PathCredentialDPoP.
type CredentialDPoPResponse struct {
	CredentialID string `json:"credentialId"`
	RequireDPoP  bool   `json:"requireDpop"`
}
