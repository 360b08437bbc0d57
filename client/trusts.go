package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/conncred/conncred/apitype"
)

func trustPath(id string) string { return apitype.PathTrusts + "/" + url.PathEscape(id) }

// CreateTrust creates a workload federation trust. It holds no secret: the
// workload authenticates with its own platform's OIDC token.
func (c *Client) CreateTrust(ctx context.Context, req apitype.CreateTrustRequest) (*apitype.Trust, error) {
	var out apitype.TrustResponse
	err := c.do(ctx, http.MethodPost, apitype.PathTrusts, nil, req, &out)
	return out.Trust, err
}

// GetTrust returns a trust, deleted or not.
func (c *Client) GetTrust(ctx context.Context, id string) (*apitype.Trust, error) {
	var out apitype.TrustResponse
	err := c.do(ctx, http.MethodGet, trustPath(id), nil, nil, &out)
	return out.Trust, err
}

// ListTrusts returns a page of trusts; deleted ones too when includeDeleted.
func (c *Client) ListTrusts(ctx context.Context, p Page, includeDeleted bool) (apitype.ListTrustsResponse, error) {
	var out apitype.ListTrustsResponse
	q := p.query()
	if includeDeleted {
		q.Set("include_deleted", "true")
	}
	err := c.do(ctx, http.MethodGet, apitype.PathTrusts, q, nil, &out)
	return out, err
}

// UpdateTrust changes the fields of a trust named by the mask.
func (c *Client) UpdateTrust(ctx context.Context, id string, req apitype.UpdateTrustRequest) (*apitype.Trust, error) {
	var out apitype.TrustResponse
	err := c.do(ctx, http.MethodPost, trustPath(id), nil, req, &out)
	return out.Trust, err
}

// DeleteTrust deletes a trust, cutting off the tokens minted through it.
func (c *Client) DeleteTrust(ctx context.Context, id string) (*apitype.Trust, error) {
	var out apitype.TrustResponse
	err := c.do(ctx, http.MethodDelete, trustPath(id), nil, nil, &out)
	return out.Trust, err
}
