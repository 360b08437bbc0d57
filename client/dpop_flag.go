package client

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/conncred/conncred/apitype"
)

// credentialDPoPPath is PathCredentialDPoP for one credential.
func credentialDPoPPath(id string) string {
	return strings.Replace(apitype.PathCredentialDPoP, "{id}", url.PathEscape(id), 1)
}

// GetCredentialDPoP reports whether a credential's token requests must
// carry a DPoP proof (RFC 9449). Only an admin may ask.
func (c *Client) GetCredentialDPoP(ctx context.Context, credentialID string) (apitype.CredentialDPoPResponse, error) {
	var out apitype.CredentialDPoPResponse
	err := c.do(ctx, http.MethodGet, credentialDPoPPath(credentialID), nil, nil, &out)
	return out, err
}

// SetCredentialDPoP sets whether a credential's token requests must carry
// a DPoP proof; with require false it gets Bearer tokens again when it
// sends none. Only an admin may change it.
func (c *Client) SetCredentialDPoP(ctx context.Context, credentialID string, require bool) (apitype.CredentialDPoPResponse, error) {
	var out apitype.CredentialDPoPResponse
	err := c.do(ctx, http.MethodPost, credentialDPoPPath(credentialID), nil, apitype.CredentialDPoPRequest{RequireDPoP: &require}, &out)
	return out, err
}
