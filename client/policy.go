package client

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/conncred/conncred/apitype"
)

// This file holds the calls of the policy wing: the expiry and dormancy
// policy of the server, an app or a connector.

// policyPath is the server default's path with appID and connectorID
// empty, an app's with connectorID empty, else the connector's.
func policyPath(appID, connectorID string) string {
	switch {
	case connectorID != "":
		return strings.NewReplacer("{app_id}", url.PathEscape(appID), "{connector_id}", url.PathEscape(connectorID)).Replace(apitype.PathConnectorPolicy)
	case appID != "":
		return strings.Replace(apitype.PathAppPolicy, "{app_id}", url.PathEscape(appID), 1)
	default:
		return apitype.PathServerPolicy
	}
}

// GetPolicy returns a scope's policy and how it resolves: the server
// default with appID and connectorID empty, an app's with connectorID
// empty, else the connector's.
func (c *Client) GetPolicy(ctx context.Context, appID, connectorID string) (apitype.PolicyResponse, error) {
	var out apitype.PolicyResponse
	err := c.do(ctx, http.MethodGet, policyPath(appID, connectorID), nil, nil, &out)
	return out, err
}

// SetPolicy changes a scope's policy: the fields in req.UpdateMask, or the
// whole policy when the mask is empty.
func (c *Client) SetPolicy(ctx context.Context, appID, connectorID string, req apitype.SetPolicyRequest) (apitype.PolicyResponse, error) {
	var out apitype.PolicyResponse
	err := c.do(ctx, http.MethodPost, policyPath(appID, connectorID), nil, req, &out)
	return out, err
}
