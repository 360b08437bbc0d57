// Package webhook delivers conncred's events to HTTP endpoints following the
// Standard Webhooks convention (webhook-id, webhook-timestamp and
// webhook-signature headers; a JSON body {type, timestamp, data}).
//
// Events enter a durable outbox in the same transaction as the change that
// causes them: the credential events from triggers in the stores' schema
// (migration 0009), other wings' events through Enqueue (or, inside a
// store's own transaction, the store's enqueue helper). A Worker fans each
// event out to the endpoints that subscribe to it and delivers it at least
// once: a delivery is leased to one node at a time, retried with
// exponential backoff and jitter up to a cap, then dead-lettered until an
// admin redelivers it. A node that dies mid-delivery loses nothing: its
// lease expires and another node takes the delivery.
//
// It is a wing beside package authority, with the rules of endpoints
// (admin only, https only, no private targets unless allowed) and of
// delivery, over the narrow Store it declares; it knows nothing of the HTTP
// API or of SQL.
package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/conncred/conncred"
)

// Event types. The credential.* and connector.* events of the policy
// scheduler and policy.changed are enqueued by the policy wing, the others
// here or by the stores' triggers, each with the data shape documented in
// the README.
const (
	EventCredentialCreated       = "credential.created"
	EventCredentialRevoked       = "credential.revoked"
	EventCredentialFirstUsed     = "credential.first_used"
	EventCredentialUsedRevoked   = "credential.used_after_revocation"
	EventCredentialExpiring      = "credential.expiring"
	EventCredentialExpired       = "credential.expired"
	EventCredentialDormant       = "credential.dormant"
	EventCredentialAutoRevoked   = "credential.auto_revoked"
	EventPolicyChanged           = "policy.changed"
	EventConnectorOffline        = "connector.offline"
	EventConnectorOnline         = "connector.online"
	EventTrustUsed               = "trust.used"
	EventTest                    = "webhook.test"
	AllEvents                    = "*"
	maxDescription               = 200
	maxURL                       = 2048
	defaultMaxAttempts           = 8
	defaultUsedAfterRevokeWindow = time.Hour
	defaultTrustUsedWindow       = time.Hour
)

// EventTypes lists every type an endpoint may subscribe to.
var EventTypes = []string{
	EventCredentialCreated, EventCredentialRevoked, EventCredentialFirstUsed, EventCredentialUsedRevoked,
	EventCredentialExpiring, EventCredentialExpired, EventCredentialDormant, EventCredentialAutoRevoked,
	EventPolicyChanged, EventConnectorOffline, EventConnectorOnline, EventTrustUsed, EventTest,
}

// Signing says how an endpoint's deliveries are signed.
type Signing string

const (
	// SigningHMAC signs with the endpoint's own secret (v1 signatures).
	SigningHMAC Signing = "hmac"
	// SigningEd25519 signs with the server's webhook key (v1a signatures),
	// whose public key is published, so receivers hold no shared secret.
	SigningEd25519 Signing = "ed25519"
)

// Endpoint is a receiver of events. It never holds its secret.
type Endpoint struct {
	ID          string
	URL         string
	Description string
	Signing     Signing
	EventTypes  []string // AllEvents alone: every type
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeletedAt   *time.Time
}

// Event is one outbox entry. Data is the JSON of the body's data field;
// nil for a credential event, whose data the worker renders from the
// credential when it delivers.
type Event struct {
	ID           string
	Type         string
	CredentialID string
	Data         json.RawMessage
	OccurredAt   time.Time
	// EndpointID, when set, delivers the event to that endpoint only (a
	// test event) instead of to every subscriber.
	EndpointID string
}

// Delivery states.
const (
	StatePending   = "pending"
	StateSucceeded = "succeeded"
	StateDead      = "dead"
)

// Delivery is one event's way to one endpoint.
type Delivery struct {
	EndpointID string
	EventID    string
	EventType  string
	State      string
	Attempts   int
	NextAt     time.Time
	LastCode   int
	LastError  string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Attempt is one line of an endpoint's delivery log. It never holds a body.
type Attempt struct {
	EndpointID string
	EventID    string
	Attempt    int
	At         time.Time
	Latency    time.Duration
	StatusCode int    // 0: no response
	Outcome    string // Outcome*
	Error      string
}

// Outcomes of an attempt, also the metrics' labels.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeRetry     = "retry"
	OutcomeDead      = "dead"
)

// Outcomes lists every attempt outcome.
var Outcomes = []string{OutcomeSucceeded, OutcomeRetry, OutcomeDead}

// Claim is a delivery leased to one worker, with what it needs to send it.
type Claim struct {
	Delivery Delivery
	Event    Event
	URL      string
	Signing  Signing
	Sealed   []byte // the endpoint's sealed secret (SigningHMAC)
}

// Result is how an attempt ended, for FinishWebhookDelivery.
type Result struct {
	State   string    // StatePending (retry at NextAt), StateSucceeded or StateDead
	NextAt  time.Time // for StatePending
	Attempt Attempt
}

// Store is what this package needs of the database. store/sqlite and
// store/postgres implement it in their webhook.go files; the conformance
// tests are store/storetest/webhook.go.
type Store interface {
	// CreateWebhookEndpoint stores e with its sealed secret (nil for an
	// Ed25519 endpoint) and its subscriptions.
	CreateWebhookEndpoint(ctx context.Context, e Endpoint, sealed []byte) error
	// WebhookEndpoint returns a live or deleted endpoint, or ENotFound.
	WebhookEndpoint(ctx context.Context, id string) (Endpoint, error)
	// ListWebhookEndpoints pages through endpoints by id.
	ListWebhookEndpoints(ctx context.Context, opt conncred.ListOptions) ([]Endpoint, error)
	// DeleteWebhookEndpoint marks it deleted, drops its secret and
	// dead-letters its pending deliveries; ENotFound if unknown.
	DeleteWebhookEndpoint(ctx context.Context, id string, at time.Time) error

	// EnqueueWebhookEvents adds events to the outbox in one transaction,
	// ignoring an id already there (so an event made twice is sent once).
	EnqueueWebhookEvents(ctx context.Context, events []Event) error
	// DispatchWebhookEvents fans up to limit undispatched events out to
	// every live endpoint subscribed to their type, created at or before
	// the event, at most once per pair, and returns how many it took.
	DispatchWebhookEvents(ctx context.Context, now time.Time, limit int) (int, error)
	// ClaimWebhookDeliveries leases up to limit pending deliveries due at
	// now and not leased (or leased until before now) to owner until
	// leaseUntil, counting an attempt for each; no two callers get the same
	// delivery under the same lease.
	ClaimWebhookDeliveries(ctx context.Context, owner string, now, leaseUntil time.Time, limit int) ([]Claim, error)
	// FinishWebhookDelivery records r's attempt in the delivery log and,
	// if owner still holds the lease for that attempt, applies r's state.
	FinishWebhookDelivery(ctx context.Context, owner string, r Result) error
	// RedeliverWebhook makes a delivery pending again at now with its
	// attempts reset; ENotFound if there is no such delivery.
	RedeliverWebhook(ctx context.Context, endpointID, eventID string, now time.Time) error
	// ListWebhookDeliveries pages (by event id, After) through an
	// endpoint's deliveries; state "" for all.
	ListWebhookDeliveries(ctx context.Context, endpointID, state string, opt conncred.ListOptions) ([]Delivery, error)
	// ListWebhookAttempts returns an endpoint's latest attempts, newest
	// first, at most limit.
	ListWebhookAttempts(ctx context.Context, endpointID string, limit int) ([]Attempt, error)
	// WebhookQueueDepth counts pending deliveries and undispatched events.
	WebhookQueueDepth(ctx context.Context) (int, error)

	// GetCredential renders a credential event's data.
	GetCredential(ctx context.Context, id string) (conncred.Credential, error)
}

// AsStore returns st as a Store, or an error that names what is missing.
func AsStore(st conncred.Store) (Store, error) {
	ws, ok := st.(Store)
	if !ok {
		return nil, errors.New("this store does not implement the webhooks wing; upgrade the store")
	}
	return ws, nil
}
