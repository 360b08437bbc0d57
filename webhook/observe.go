package webhook

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/federation/trustdb"
	"github.com/conncred/conncred/internal/hostport"
)

// Observation events are the ones only the audit stream sees: a revoked
// credential's key still signing exchanges (credential.used_after_revocation)
// and a workload federation trust minting a token (trust.used). Neither
// changes a record in a transaction this package could join: the revoked
// credential's refusal writes nothing, and a trust's lastUsedAt is written
// behind the exchange, without the workload's subject, which only the
// exchange knows. So they are enqueued from the audit stream, rate-limited
// per record and window, under an id derived from the record and the
// window: a second exchange, or a second node, in the same window enqueues
// the same id, which the outbox ignores. Being observations, they can be
// lost by a kill -9 between the exchange and the enqueue, as the exchange's
// audit record itself can (the trail is written in batches).

// Audit kinds and client id suffix the sink reads. The webhook package may
// not import the authority (the stores import this package), so the kinds
// are spelled here; server tests drive a real exchange through the sink.
const (
	auditTokenIssued  = "token.issued"
	auditTokenRefused = "token.refused"
	// workloadReason is how package federation's token.issued names the
	// workload: "workload <subject>".
	workloadReason = "workload "
	maxSubject     = 256
)

var trustClientSuffix = "/" + trustdb.SuffixTrust

// TrustUseData is the data of a trust.used webhook: the trust, the first
// workload (its token's subject) that used it in the window, and the
// principal the trust grants. Never the workload's token nor the one minted.
type TrustUseData struct {
	TrustID     string `json:"trustId"`
	ClientID    string `json:"clientId"`
	Subject     string `json:"subject,omitempty"`
	Role        string `json:"role"` // connector or admin
	AppID       string `json:"appId,omitempty"`
	ConnectorID string `json:"connectorId,omitempty"`
	// Source is the IP address the exchange came from.
	Source string `json:"source,omitempty"`
}

// AuditSink returns the observer of the authority's audit stream that
// enqueues the observation events; refusedRevoked is the reason the
// authority gives when a revoked credential's assertion is refused
// (authority.RefusedRevoked). It runs on the request's goroutine; it
// writes at most once per record and window on each node.
func (s *Service) AuditSink(refusedRevoked string) func(conncred.AuditEvent) {
	return func(e conncred.AuditEvent) {
		if e.CredentialID == "" {
			return
		}
		at := e.Time
		if at.IsZero() {
			at = s.now()
		}
		var ev Event
		switch {
		case e.Kind == auditTokenRefused && e.Reason == refusedRevoked:
			data, _ := json.Marshal(map[string]string{"credentialId": e.CredentialID, "source": e.Source})
			ev = Event{
				ID:   "msg_usedrevoked_" + e.CredentialID + "_" + windowID(at, s.cfg.UsedAfterRevokeWindow),
				Type: EventCredentialUsedRevoked, CredentialID: e.CredentialID, Data: data,
			}
		case e.Kind == auditTokenIssued && strings.HasSuffix(e.Actor, trustClientSuffix) && e.Outcome != "failure":
			d := TrustUseData{TrustID: e.CredentialID, ClientID: e.Actor, Role: "admin", AppID: e.AppID, ConnectorID: e.ConnectorID,
				Source: hostport.Host(e.Source)}
			if sub, ok := strings.CutPrefix(e.Reason, workloadReason); ok {
				d.Subject = truncate(sub, maxSubject)
			}
			if e.ConnectorID != "" {
				d.Role = "connector"
			}
			data, _ := json.Marshal(d)
			ev = Event{ID: "msg_trustused_" + e.CredentialID + "_" + windowID(at, s.cfg.TrustUsedWindow), Type: EventTrustUsed, Data: data}
		default:
			return
		}
		ev.OccurredAt = at.UTC().Truncate(time.Microsecond)
		if !s.observed.add(ev.ID) {
			return // this node enqueued it already
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.enqueueObserved(ctx, ev); err != nil {
			s.observed.remove(ev.ID) // a later use retries
			s.cfg.Log.Warn("could not enqueue a webhook event", "type", ev.Type, "record_id", e.CredentialID, "err", err)
		}
	}
}

// windowID names the window of w that holds at.
func windowID(at time.Time, w time.Duration) string {
	return at.UTC().Truncate(w).Format("20060102T1504Z")
}

// enqueueObserved enqueues ev if an endpoint exists: an event that happened
// while none existed is delivered to none (endpoints receive only events
// after their creation), so the outbox need not keep it, as the stores'
// triggers do not.
func (s *Service) enqueueObserved(ctx context.Context, ev Event) error {
	es, err := s.store.ListWebhookEndpoints(ctx, conncred.ListOptions{Limit: 1})
	if err != nil || len(es) == 0 {
		return err
	}
	return s.store.EnqueueWebhookEvents(ctx, []Event{ev})
}

// observedSet is the ids of the observation events this node enqueued,
// bounded: forgetting costs one more (ignored) insert.
type observedSet struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

const maxObserved = 100_000

// add reports whether id was new, and remembers it.
func (o *observedSet) add(id string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.ids[id]; ok {
		return false
	}
	if o.ids == nil || len(o.ids) >= maxObserved {
		o.ids = map[string]struct{}{}
	}
	o.ids[id] = struct{}{}
	return true
}

func (o *observedSet) remove(id string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.ids, id)
}
