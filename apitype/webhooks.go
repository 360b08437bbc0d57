package apitype

import (
	"time"

	"github.com/conncred/conncred"
)

// Webhook paths (conncred extensions). PathWebhookSigningKey is public: the
// key that verifies v1a (Ed25519) signatures.
const (
	PathWebhooks          = "/api/v1/webhooks"
	PathWebhookSigningKey = "/api/v1/webhooks/signing-key"
)

// Webhook is an endpoint as the API shows it; it never holds the secret.
type Webhook struct {
	ID          string     `json:"id"`
	URL         string     `json:"url"`
	Description string     `json:"description"`
	Signing     string     `json:"signing"`
	EventTypes  []string   `json:"eventTypes"`
	CreatedAt   *time.Time `json:"createdAt"`
	UpdatedAt   *time.Time `json:"updatedAt"`
	DeletedAt   *time.Time `json:"deletedAt"`
}

// CreateWebhookRequest is the body of POST /api/v1/webhooks.
type CreateWebhookRequest struct {
	URL         string   `json:"url"`
	Description string   `json:"description,omitempty"`
	Signing     string   `json:"signing,omitempty"`    // "hmac" (default) or "ed25519"
	EventTypes  []string `json:"eventTypes,omitempty"` // empty: every type
}

// Validate reports what is wrong with the request's form; the rules (https,
// allowed targets, known types) are package webhook's.
func (r *CreateWebhookRequest) Validate() error {
	if r.URL == "" {
		return conncred.Errorf(conncred.EInvalid, "url is required: the https URL events are posted to")
	}
	return nil
}

// CreateWebhookResponse carries the endpoint and, for "hmac" signing, its
// secret (whsec_...): this response is the only one that shows it.
type CreateWebhookResponse struct {
	Webhook       *Webhook `json:"webhook"`
	SigningSecret string   `json:"signingSecret,omitempty"`
}

// WebhookResponse is one endpoint.
type WebhookResponse struct {
	Webhook *Webhook `json:"webhook"`
}

// ListWebhooksResponse is a page of endpoints.
type ListWebhooksResponse struct {
	List          []*Webhook `json:"list"`
	NextPageToken string     `json:"nextPageToken"`
}

// WebhookDelivery is one event's delivery to one endpoint.
type WebhookDelivery struct {
	EventID   string     `json:"eventId"`
	EventType string     `json:"eventType"`
	State     string     `json:"state"`
	Attempts  int        `json:"attempts"`
	NextAt    *time.Time `json:"nextAttemptAt"`
	LastCode  int        `json:"lastResponseCode"`
	LastError string     `json:"lastError"`
	CreatedAt *time.Time `json:"createdAt"`
	UpdatedAt *time.Time `json:"updatedAt"`
}

// WebhookAttempt is one line of an endpoint's delivery log.
type WebhookAttempt struct {
	EventID      string     `json:"eventId"`
	Attempt      int        `json:"attempt"`
	At           *time.Time `json:"at"`
	LatencyMs    float64    `json:"latencyMs"`
	ResponseCode int        `json:"responseCode"`
	Outcome      string     `json:"outcome"`
	Error        string     `json:"error"`
}

// ListWebhookDeliveriesResponse is a page of deliveries and the latest
// attempts (the delivery log, newest first).
type ListWebhookDeliveriesResponse struct {
	List          []*WebhookDelivery `json:"list"`
	NextPageToken string             `json:"nextPageToken"`
	Attempts      []*WebhookAttempt  `json:"attempts"`
}

// TestWebhookResponse names the test event enqueued.
type TestWebhookResponse struct {
	EventID string `json:"eventId"`
}

// WebhookSigningKeyResponse is the server's webhook verification key.
type WebhookSigningKeyResponse struct {
	// PublicKey is the Standard Webhooks form, whpk_<base64>.
	PublicKey string `json:"publicKey"`
	// JWK is the same key as an OKP JWK.
	JWK PublicJWK `json:"jwk"`
}
