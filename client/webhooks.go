package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/secret"
)

// This file holds the calls of the webhooks wing (a conncred extension):
// endpoints that receive events signed per the Standard Webhooks convention.

func webhookPath(id string) string { return apitype.PathWebhooks + "/" + url.PathEscape(id) }

// CreateWebhook adds an endpoint. For "hmac" signing the endpoint's signing
// secret (whsec_...) comes back on its own, never inside the metadata, and
// cannot print itself; this is the only answer that carries it. For
// "ed25519" signing hasSecret is false: receivers verify with the server's
// published key (WebhookSigningKey).
func (c *Client) CreateWebhook(ctx context.Context, req apitype.CreateWebhookRequest) (wh *apitype.Webhook, sec secret.Secret, hasSecret bool, err error) {
	var out apitype.CreateWebhookResponse
	if err := c.do(ctx, http.MethodPost, apitype.PathWebhooks, nil, req, &out); err != nil {
		return nil, secret.Secret{}, false, err
	}
	if out.SigningSecret == "" {
		return out.Webhook, secret.Secret{}, false, nil
	}
	return out.Webhook, secret.FromText(out.SigningSecret), true, nil
}

// GetWebhook returns an endpoint, deleted or not.
func (c *Client) GetWebhook(ctx context.Context, id string) (*apitype.Webhook, error) {
	var out apitype.WebhookResponse
	err := c.do(ctx, http.MethodGet, webhookPath(id), nil, nil, &out)
	return out.Webhook, err
}

// ListWebhooks returns a page of endpoints (deleted ones too with
// includeDeleted).
func (c *Client) ListWebhooks(ctx context.Context, p Page, includeDeleted bool) (apitype.ListWebhooksResponse, error) {
	q := p.query()
	if includeDeleted {
		q.Set("include_deleted", "true")
	}
	var out apitype.ListWebhooksResponse
	err := c.do(ctx, http.MethodGet, apitype.PathWebhooks, q, nil, &out)
	return out, err
}

// DeleteWebhook deletes an endpoint: its secret is dropped and its pending
// deliveries are dead-lettered. Deleting twice is not an error.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, webhookPath(id), nil, nil, nil)
}

// TestWebhook enqueues a webhook.test event for one endpoint and returns
// the event's id (the webhook-id header the receiver will see).
func (c *Client) TestWebhook(ctx context.Context, id string) (string, error) {
	var out apitype.TestWebhookResponse
	err := c.do(ctx, http.MethodPost, webhookPath(id)+"/test", nil, struct{}{}, &out)
	return out.EventID, err
}

// DeliveryQuery selects an endpoint's deliveries: State "" for all (else
// pending, succeeded or dead), and Attempts lines of its delivery log (0:
// the server's default, at most 1000).
type DeliveryQuery struct {
	State    string
	Attempts int
	Page     Page
}

// ListWebhookDeliveries returns a page of an endpoint's deliveries and its
// latest attempts, newest first.
func (c *Client) ListWebhookDeliveries(ctx context.Context, id string, q DeliveryQuery) (apitype.ListWebhookDeliveriesResponse, error) {
	v := q.Page.query()
	if q.State != "" {
		v.Set("state", q.State)
	}
	if q.Attempts > 0 {
		v.Set("attempts", strconv.Itoa(q.Attempts))
	}
	var out apitype.ListWebhookDeliveriesResponse
	err := c.do(ctx, http.MethodGet, webhookPath(id)+"/deliveries", v, nil, &out)
	return out, err
}

// RedeliverWebhook sends an event to an endpoint again with a fresh retry
// budget, whatever its delivery's state (a dead letter included).
func (c *Client) RedeliverWebhook(ctx context.Context, id, eventID string) error {
	return c.do(ctx, http.MethodPost, webhookPath(id)+"/deliveries/"+url.PathEscape(eventID)+"/redeliver", nil, struct{}{}, nil)
}

// WebhookSigningKey returns the public key that verifies v1a (Ed25519)
// signatures. The route is public; the client's token is sent anyway.
func (c *Client) WebhookSigningKey(ctx context.Context) (apitype.WebhookSigningKeyResponse, error) {
	var out apitype.WebhookSigningKeyResponse
	err := c.do(ctx, http.MethodGet, apitype.PathWebhookSigningKey, nil, nil, &out)
	return out, err
}
