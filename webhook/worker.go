package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/conncred/conncred"
)

// Observer receives the worker's measurements, for metrics; package metrics
// implements it. Labels come from fixed sets (Outcomes).
type Observer interface {
	// Attempted is called after each attempt with its outcome and latency.
	Attempted(outcome string, latency time.Duration)
	// QueueDepth is called after each round with the pending deliveries
	// and undispatched events.
	QueueDepth(n int)
}

type nopObserver struct{}

func (nopObserver) Attempted(string, time.Duration) {}
func (nopObserver) QueueDepth(int)                  {}

// Run delivers until ctx ends: a round every PollInterval of the clock.
func (s *Service) Run(ctx context.Context) {
	t := s.clock.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Chan():
			if _, err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
				s.cfg.Log.Warn("webhook delivery round failed", "err", err)
			}
		}
	}
}

// RunOnce does one round: fan new events out, lease the due deliveries,
// attempt them concurrently and record how each went. It returns how many
// it attempted.
func (s *Service) RunOnce(ctx context.Context) (int, error) {
	now := s.now()
	for {
		n, err := s.store.DispatchWebhookEvents(ctx, now, 100)
		if err != nil {
			return 0, err
		}
		if n < 100 {
			break
		}
	}
	claims, err := s.store.ClaimWebhookDeliveries(ctx, s.cfg.Node, now, now.Add(s.cfg.Lease), s.cfg.Batch)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(claims))
	for i, c := range claims {
		wg.Go(func() { errs[i] = s.store.FinishWebhookDelivery(ctx, s.cfg.Node, s.attempt(ctx, c)) })
	}
	wg.Wait()
	if depth, err := s.store.WebhookQueueDepth(ctx); err == nil {
		s.cfg.Observer.QueueDepth(depth)
	}
	return len(claims), errors.Join(errs...)
}

// attempt sends one delivery and decides what follows.
func (s *Service) attempt(ctx context.Context, c Claim) Result {
	start := s.clock.Now()
	code, err := s.send(ctx, c)
	latency := s.clock.Now().Sub(start)
	a := Attempt{EndpointID: c.Delivery.EndpointID, EventID: c.Event.ID, Attempt: c.Delivery.Attempts, At: s.now(), Latency: latency, StatusCode: code}
	r := Result{Attempt: a}
	switch {
	case err == nil && code >= 200 && code < 300:
		r.State, r.Attempt.Outcome = StateSucceeded, OutcomeSucceeded
	case c.Delivery.Attempts >= s.cfg.MaxAttempts:
		r.State, r.Attempt.Outcome = StateDead, OutcomeDead
	default:
		r.State, r.Attempt.Outcome = StatePending, OutcomeRetry
		r.NextAt = a.At.Add(s.backoff(c.Delivery.Attempts))
	}
	if err != nil {
		r.Attempt.Error = truncate(err.Error(), 300)
	} else if r.State != StateSucceeded {
		r.Attempt.Error = "the endpoint answered " + strconv.Itoa(code)
	}
	s.cfg.Observer.Attempted(r.Attempt.Outcome, latency)
	return r
}

// backoff is the wait after the n-th failed attempt: BackoffBase doubled
// n-1 times, capped at BackoffMax, with "equal jitter" (between half and
// all of it) so that deliveries failing together do not retry together.
func (s *Service) backoff(n int) time.Duration {
	d := s.cfg.BackoffBase
	for i := 1; i < n && d < s.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.BackoffMax)
	return d/2 + rand.N(d/2+1)
}

// Message is a delivery's body.
type Message struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// body renders an event's JSON body.
func (s *Service) body(ctx context.Context, ev Event) ([]byte, error) {
	data := ev.Data
	if data == nil && ev.CredentialID != "" {
		cr, err := s.store.GetCredential(ctx, ev.CredentialID)
		if err != nil {
			return nil, err
		}
		data, err = json.Marshal(CredentialData{Credential: credentialView(cr)})
		if err != nil {
			return nil, err
		}
	}
	if data == nil {
		data = json.RawMessage("{}")
	}
	return json.Marshal(Message{Type: ev.Type, Timestamp: ev.OccurredAt.UTC(), Data: data})
}

// CredentialData is the data of the credential.* events: the credential's
// public record, never a secret (the store holds none).
type CredentialData struct {
	Credential CredentialView `json:"credential"`
}

// CredentialView is a credential as a webhook shows it.
type CredentialView struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	AppID       string     `json:"appId,omitempty"`
	ConnectorID string     `json:"connectorId,omitempty"`
	ClientID    string     `json:"clientId"`
	DisplayName string     `json:"displayName"`
	CreatedAt   time.Time  `json:"createdAt"`
	ExpiresTime *time.Time `json:"expiresTime,omitempty"`
	DeletedAt   *time.Time `json:"deletedAt,omitempty"`
	LastUsedAt  *time.Time `json:"lastUsedAt,omitempty"`
}

func credentialView(c conncred.Credential) CredentialView {
	return CredentialView{ID: c.ID, Kind: string(c.Kind), AppID: c.AppID, ConnectorID: c.ConnectorID, ClientID: c.ClientID,
		DisplayName: c.DisplayName, CreatedAt: c.CreatedAt, ExpiresTime: c.ExpiresAt, DeletedAt: c.DeletedAt, LastUsedAt: c.LastUsedAt}
}

// send makes one HTTP attempt and returns the status code (0 if none).
func (s *Service) send(ctx context.Context, c Claim) (int, error) {
	body, err := s.body(ctx, c.Event)
	if err != nil {
		return 0, fmt.Errorf("could not render the event: %w", err)
	}
	ts := s.clock.Now().Unix()
	var sig string
	switch c.Signing {
	case SigningEd25519:
		sig = SignEd25519(s.keys.priv, c.Event.ID, ts, body)
	default:
		key, err := s.keys.open(c.Delivery.EndpointID, c.Sealed)
		if err != nil {
			return 0, err
		}
		sig = SignHMAC(key, c.Event.ID, ts, body)
	}
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "conncred-webhooks")
	req.Header.Set("webhook-id", c.Event.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, redact(err)
	}
	defer resp.Body.Close()
	// Read a bounded amount so the connection can be reused; never kept.
	io.Copy(io.Discard, io.LimitReader(resp.Body, s.cfg.MaxResponseBytes))
	return resp.StatusCode, nil
}

// redact drops the URL from a client error: a receiver's URL may carry a
// token in its query, which must not reach the delivery log.
func redact(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}
