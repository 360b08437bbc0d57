package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/secret"
)

// CreatePersonalClient creates a personal client (an admin credential) in
// ConductorOne's shape, with its source networks and scoped roles, and
// returns it with its secret, which exists only in this answer.
func (c *Client) CreatePersonalClient(ctx context.Context, req apitype.CreatePersonalClientRequest) (*apitype.PersonalClient, secret.Secret, error) {
	var out apitype.PersonalClientResponse
	if err := c.do(ctx, http.MethodPost, apitype.PathPersonalClients, nil, req, &out); err != nil {
		return nil, secret.Secret{}, err
	}
	if out.Client == nil {
		return nil, secret.Secret{}, fmt.Errorf("the server answered the create with no client")
	}
	cred, sec, err := splitSecret(out.Client.Credential(), out.ClientSecret)
	if err != nil {
		return nil, secret.Secret{}, err
	}
	out.Client.ConnectorCredential = cred
	return out.Client, sec, nil
}

// GetPersonalClient returns a personal client with its official fields.
func (c *Client) GetPersonalClient(ctx context.Context, id string) (*apitype.PersonalClient, error) {
	var out apitype.PersonalClientResponse
	err := c.do(ctx, http.MethodGet, apitype.PathPersonalClients+"/"+url.PathEscape(id), nil, nil, &out)
	return out.Client, err
}

// UpdatePersonalClient changes the fields req.UpdateMask names; the server
// keeps the others.
func (c *Client) UpdatePersonalClient(ctx context.Context, id string, req apitype.UpdatePersonalClientRequest) (*apitype.PersonalClient, error) {
	var out apitype.PersonalClientResponse
	err := c.do(ctx, http.MethodPost, apitype.PathPersonalClients+"/"+url.PathEscape(id), nil, req, &out)
	return out.Client, err
}

// SearchPersonalClients returns a page of the personal clients whose
// display name or client id contains req.Query.
func (c *Client) SearchPersonalClients(ctx context.Context, req apitype.SearchPersonalClientsRequest) (apitype.ListPersonalClientsResponse, error) {
	var out apitype.ListPersonalClientsResponse
	err := c.do(ctx, http.MethodPost, apitype.PathSearchPersonalClients, nil, req, &out)
	return out, err
}
