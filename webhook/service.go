package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/internal/ksuid"
)

// Audit event kinds.
const (
	AuditEndpointCreated = "webhook.created"
	AuditEndpointDeleted = "webhook.deleted"
	AuditRedelivered     = "webhook.redelivered"
	AuditTested          = "webhook.tested"
)

// Auditor records audit events; *authority.Authority implements it.
type Auditor interface {
	Record(ctx context.Context, e conncred.AuditEvent)
}

// Config holds the package's settings; zero values take the defaults noted.
type Config struct {
	Targets TargetPolicy
	// Timeout bounds one delivery: connect, TLS, headers and body (10s).
	Timeout time.Duration
	// MaxAttempts is the retry cap: after it a delivery is dead (8, about
	// 21 minutes of backoff with the other defaults).
	MaxAttempts int
	// BackoffBase is the wait after the first failure, doubled after each
	// next one up to BackoffMax (10s and 1h), each with jitter.
	BackoffBase, BackoffMax time.Duration
	// Lease is how long a node holds a delivery before another may take
	// it (3 x Timeout): the longest an event waits after a node dies.
	Lease time.Duration
	// PollInterval is how often the worker looks for work (1s).
	PollInterval time.Duration
	// Batch is the most deliveries one worker round attempts (16), each in
	// its own goroutine.
	Batch int
	// MaxResponseBytes is the most of a response read (64 KiB); the rest
	// is dropped and the connection closed.
	MaxResponseBytes int64
	// UsedAfterRevokeWindow is how often a stale connector's attempts with
	// a revoked credential make an event: at most one per credential per
	// window (1h), whatever its retry rate.
	UsedAfterRevokeWindow time.Duration
	// TrustUsedWindow is how often a workload federation trust's use makes
	// a trust.used event: at most one per trust per window (1h), the first
	// exchange of each window, whatever the number of workloads.
	TrustUsedWindow time.Duration
	// Node names this server in leases (random by default).
	Node     string
	Observer Observer
	Log      *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = defaultMaxAttempts
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = 10 * time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = time.Hour
	}
	if c.Lease <= 0 {
		c.Lease = 3 * c.Timeout
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.Batch <= 0 {
		c.Batch = 16
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = 64 << 10
	}
	if c.UsedAfterRevokeWindow <= 0 {
		c.UsedAfterRevokeWindow = defaultUsedAfterRevokeWindow
	}
	if c.TrustUsedWindow <= 0 {
		c.TrustUsedWindow = defaultTrustUsedWindow
	}
	if c.Node == "" {
		b := make([]byte, 8)
		rand.Read(b)
		c.Node = hex.EncodeToString(b)
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Service holds the webhook rules: endpoints, events and delivery.
type Service struct {
	cfg    Config
	store  Store
	keys   *Keyring
	clock  clock.Clock
	audit  Auditor
	client *http.Client
	// observed remembers the observation events this node enqueued
	// (observe.go), so that a busy trust costs one write per window.
	observed observedSet
}

// New returns a Service. audit may be nil (no audit trail: tests).
func New(cfg Config, store Store, keys *Keyring, audit Auditor, clk clock.Clock) *Service {
	cfg.setDefaults()
	if clk == nil {
		clk = clock.Real{}
	}
	return &Service{cfg: cfg, store: store, keys: keys, clock: clk, audit: audit, client: cfg.Targets.newHTTPClient(cfg.Timeout)}
}

// Keyring returns the server's webhook keys (the public key is published).
func (s *Service) Keyring() *Keyring { return s.keys }

func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) record(ctx context.Context, e conncred.AuditEvent) {
	if s.audit != nil {
		s.audit.Record(ctx, e)
	}
}

func requireAdmin(ctx context.Context) error {
	p := conncred.PrincipalFrom(ctx)
	if p == nil {
		return conncred.Errorf(conncred.EUnauthenticated, "authentication required")
	}
	if !p.IsAdmin() {
		return conncred.Errorf(conncred.EPermissionDenied, "webhooks are managed with an admin (personal client) credential")
	}
	return nil
}

// CreateInput is a new endpoint.
type CreateInput struct {
	URL         string
	Description string
	Signing     Signing  // "" = SigningHMAC
	EventTypes  []string // empty = every type
}

// Create adds an endpoint. For SigningHMAC it returns the endpoint's secret,
// which this response is the only one to show.
func (s *Service) Create(ctx context.Context, in CreateInput) (Endpoint, *Secret, error) {
	if err := requireAdmin(ctx); err != nil {
		return Endpoint{}, nil, err
	}
	u, err := s.cfg.Targets.checkURL(strings.TrimSpace(in.URL))
	if err != nil {
		return Endpoint{}, nil, err
	}
	if len(in.Description) > maxDescription {
		return Endpoint{}, nil, conncred.Errorf(conncred.EInvalid, "description is longer than %d characters", maxDescription)
	}
	if in.Signing == "" {
		in.Signing = SigningHMAC
	}
	if in.Signing != SigningHMAC && in.Signing != SigningEd25519 {
		return Endpoint{}, nil, conncred.Errorf(conncred.EInvalid, "signing must be %q (a secret of the endpoint's own, v1 signatures) or %q (the server's published key, v1a signatures)", SigningHMAC, SigningEd25519)
	}
	types, err := eventTypes(in.EventTypes)
	if err != nil {
		return Endpoint{}, nil, err
	}
	now := s.now()
	e := Endpoint{ID: ksuid.New(now), URL: u.String(), Description: in.Description, Signing: in.Signing, EventTypes: types, CreatedAt: now, UpdatedAt: now}
	var sec *Secret
	var sealed []byte
	if e.Signing == SigningHMAC {
		v, key := newSecret()
		sec = &v
		sealed = s.keys.seal(e.ID, key)
	}
	if err := s.store.CreateWebhookEndpoint(ctx, e, sealed); err != nil {
		return Endpoint{}, nil, err
	}
	s.record(ctx, conncred.AuditEvent{Kind: AuditEndpointCreated, CredentialID: e.ID, Reason: "host " + u.Host})
	return e, sec, nil
}

func eventTypes(in []string) ([]string, error) {
	if len(in) == 0 || slices.Contains(in, AllEvents) {
		return []string{AllEvents}, nil
	}
	out := make([]string, 0, len(in))
	for _, t := range in {
		if !slices.Contains(EventTypes, t) {
			return nil, conncred.Errorf(conncred.EInvalid, "unknown event type %q; known: %s (or * for all)", truncate(t, 64), strings.Join(EventTypes, ", "))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// Get returns an endpoint, deleted ones included.
func (s *Service) Get(ctx context.Context, id string) (Endpoint, error) {
	if err := requireAdmin(ctx); err != nil {
		return Endpoint{}, err
	}
	return s.store.WebhookEndpoint(ctx, id)
}

// List pages through live endpoints (deleted ones too with
// includeDeleted) and returns the next page's token.
func (s *Service) List(ctx context.Context, p Page, includeDeleted bool) ([]Endpoint, string, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, "", err
	}
	opt, err := p.options()
	if err != nil {
		return nil, "", err
	}
	opt.IncludeDeleted = includeDeleted
	es, err := s.store.ListWebhookEndpoints(ctx, opt)
	if err != nil {
		return nil, "", err
	}
	es, next := nextPage(es, opt, func(e Endpoint) string { return e.ID })
	return es, next, nil
}

// Page asks for a page: Size records (default 50, at most 1000) after the
// record whose id is Token (the previous page's next token).
type Page struct {
	Size  int
	Token string
}

// The package pages by record id rather than through package authority's
// tokens: the stores import this package, and the authority's tests import
// a store, so importing the authority here would make a cycle.
func (p Page) options() (conncred.ListOptions, error) {
	switch {
	case p.Size < 0:
		return conncred.ListOptions{}, conncred.Errorf(conncred.EInvalid, "page_size must not be negative")
	case p.Size == 0:
		p.Size = 50
	case p.Size > 1000:
		p.Size = 1000
	}
	if len(p.Token) > 256 {
		return conncred.ListOptions{}, conncred.Errorf(conncred.EInvalid, "page_token is not valid; pass the nextPageToken of the previous page")
	}
	return conncred.ListOptions{After: p.Token, Limit: p.Size + 1}, nil
}

// nextPage trims the one extra record options asked for and returns the
// next page's token ("" on the last page).
func nextPage[T any](items []T, opt conncred.ListOptions, id func(T) string) ([]T, string) {
	if len(items) < opt.Limit {
		return items, ""
	}
	items = items[:opt.Limit-1]
	return items, id(items[len(items)-1])
}

// Delete deletes an endpoint: its secret is dropped and its pending
// deliveries become dead. Deleting twice is not an error.
func (s *Service) Delete(ctx context.Context, id string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	if err := s.store.DeleteWebhookEndpoint(ctx, id, s.now()); err != nil {
		return err
	}
	s.record(ctx, conncred.AuditEvent{Kind: AuditEndpointDeleted, CredentialID: id})
	return nil
}

// Test enqueues a webhook.test event for one endpoint and returns its id.
func (s *Service) Test(ctx context.Context, id string) (string, error) {
	if err := requireAdmin(ctx); err != nil {
		return "", err
	}
	e, err := s.store.WebhookEndpoint(ctx, id)
	if err != nil {
		return "", err
	}
	if e.DeletedAt != nil {
		return "", conncred.Errorf(conncred.EConflict, "the endpoint is deleted")
	}
	now := s.now()
	data, _ := json.Marshal(map[string]string{"endpointId": id})
	ev := Event{ID: "msg_" + ksuid.New(now), Type: EventTest, Data: data, OccurredAt: now, EndpointID: id}
	if err := s.store.EnqueueWebhookEvents(ctx, []Event{ev}); err != nil {
		return "", err
	}
	s.record(ctx, conncred.AuditEvent{Kind: AuditTested, CredentialID: id})
	return ev.ID, nil
}

// Deliveries pages through an endpoint's deliveries (state "" for all).
func (s *Service) Deliveries(ctx context.Context, endpointID, state string, p Page) ([]Delivery, string, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, "", err
	}
	switch state {
	case "", StatePending, StateSucceeded, StateDead:
	default:
		return nil, "", conncred.Errorf(conncred.EInvalid, "state must be %s, %s or %s", StatePending, StateSucceeded, StateDead)
	}
	opt, err := p.options()
	if err != nil {
		return nil, "", err
	}
	if _, err := s.store.WebhookEndpoint(ctx, endpointID); err != nil {
		return nil, "", err
	}
	ds, err := s.store.ListWebhookDeliveries(ctx, endpointID, state, opt)
	if err != nil {
		return nil, "", err
	}
	ds, next := nextPage(ds, opt, func(d Delivery) string { return d.EventID })
	return ds, next, nil
}

// Attempts returns an endpoint's delivery log, newest first.
func (s *Service) Attempts(ctx context.Context, endpointID string, limit int) ([]Attempt, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	if _, err := s.store.WebhookEndpoint(ctx, endpointID); err != nil {
		return nil, err
	}
	return s.store.ListWebhookAttempts(ctx, endpointID, limit)
}

// Redeliver sends an event to an endpoint again, with a fresh retry budget,
// whatever its delivery's state.
func (s *Service) Redeliver(ctx context.Context, endpointID, eventID string) error {
	if err := requireAdmin(ctx); err != nil {
		return err
	}
	e, err := s.store.WebhookEndpoint(ctx, endpointID)
	if err != nil {
		return err
	}
	if e.DeletedAt != nil {
		return conncred.Errorf(conncred.EConflict, "the endpoint is deleted")
	}
	if err := s.store.RedeliverWebhook(ctx, endpointID, eventID, s.now()); err != nil {
		return err
	}
	s.record(ctx, conncred.AuditEvent{Kind: AuditRedelivered, CredentialID: endpointID, Reason: "event " + truncate(eventID, 80)})
	return nil
}

// Enqueue adds events to the outbox, for callers outside a store
// transaction. A wing whose event must be atomic with its change enqueues
// inside its store transaction instead (the stores' enqueueWebhookEvents);
// Enqueue is for events that record an observation, not a change. An event
// without an id gets one; an id already enqueued is ignored.
func (s *Service) Enqueue(ctx context.Context, events ...Event) error {
	now := s.now()
	for i := range events {
		if events[i].ID == "" {
			events[i].ID = "msg_" + ksuid.New(now)
		}
		if events[i].OccurredAt.IsZero() {
			events[i].OccurredAt = now
		}
		if !slices.Contains(EventTypes, events[i].Type) {
			return conncred.Errorf(conncred.EInvalid, "unknown webhook event type %q", events[i].Type)
		}
	}
	return s.store.EnqueueWebhookEvents(ctx, events)
}
