package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
	"github.com/conncred/conncred/webhook"
)

// Connector liveness: a service-mode connector (one with a baton host on
// record) that has not been heard for the offlineAfter of its policy gets
// one connector.offline event, and connector.online when it is heard again.
//
// "Heard" is any use of the connector's credentials that the authority
// accepts: a token exchange and every authenticated call (GetTask polls,
// heartbeats, Hello, uploads, REST calls), and the same through a trust
// bound to the connector. The authority asks its SourceGuard about every
// such use, after the signature and the revocation checks; WatchUse wraps
// that guard, so no request path had to change and a refused call (a
// forged or revoked token, a source outside the allowed networks) is not
// heard. Uses are kept in memory and written behind, once per scheduler
// pass, so no request waits on a write: a poll every few seconds from a
// thousand connectors is one transaction a minute per node.

// ConnectorSeen is a connector heard at At.
type ConnectorSeen struct {
	ConnectorID string
	At          time.Time
}

// ConnectorActivity is what the store knows of a watched connector.
type ConnectorActivity struct {
	ConnectorID string
	AppID       string
	DisplayName string
	// Hosts is how many baton hosts the connector has on record.
	Hosts int
	// LastSeen is the latest of the connector's written-behind last-seen
	// time and its hosts' last Hello.
	LastSeen time.Time
	// OfflineSince is when the silence of the open offline period began
	// (the threshold of its connector.offline event); nil: none is open.
	OfflineSince *time.Time
}

// SourceGuard is authority.SourceGuard, declared here so that this package
// need not import the authority.
type SourceGuard interface {
	CheckSource(ctx context.Context, cred conncred.Credential, addr string) error
}

// WatchUse returns g (nil: every source is allowed) with this service
// hearing every connector credential g allows; set it as the authority's
// SourceGuard.
func (s *Service) WatchUse(g SourceGuard) SourceGuard { return useWatcher{g: g, s: s} }

type useWatcher struct {
	g SourceGuard
	s *Service
}

func (w useWatcher) CheckSource(ctx context.Context, cred conncred.Credential, addr string) error {
	if w.g != nil {
		if err := w.g.CheckSource(ctx, cred, addr); err != nil {
			return err
		}
	}
	if cred.Kind == conncred.KindConnector && cred.ConnectorID != "" {
		w.s.seen.note(cred.ConnectorID, w.s.clock.Now())
	}
	return nil
}

// maxSeenBuffer bounds the connectors heard between two passes (the ids
// come from stored credentials, so only the number of connectors bounds
// them; this is a backstop). Past it a connector is heard at the next use.
const maxSeenBuffer = 1_000_000

// seenBuffer holds the latest use per connector since the last flush.
type seenBuffer struct {
	mu sync.Mutex
	m  map[string]time.Time
}

func (b *seenBuffer) note(connectorID string, at time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]time.Time{}
	}
	if last, ok := b.m[connectorID]; ok {
		if at.After(last) {
			b.m[connectorID] = at
		}
		return
	}
	if len(b.m) < maxSeenBuffer {
		b.m[connectorID] = at
	}
}

// take empties the buffer and returns what it held.
func (b *seenBuffer) take() []ConnectorSeen {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]ConnectorSeen, 0, len(b.m))
	for id, at := range b.m {
		out = append(out, ConnectorSeen{ConnectorID: id, At: at.UTC().Truncate(time.Microsecond)})
	}
	clear(b.m)
	return out
}

// putBack returns a batch the store refused, keeping later uses.
func (b *seenBuffer) putBack(seen []ConnectorSeen) {
	for _, c := range seen {
		b.note(c.ConnectorID, c.At)
	}
}

// FlushSeen writes the connectors heard since the last flush. The scheduler
// calls it at the start of every pass and when it stops.
func (s *Service) FlushSeen(ctx context.Context) error {
	seen := s.seen.take()
	if len(seen) == 0 {
		return nil
	}
	if err := s.store.NoteConnectorsSeen(ctx, seen); err != nil {
		s.seen.putBack(seen)
		return err
	}
	return nil
}

// offlineAfter is the threshold the pass applies: the policy's, but never
// under three scheduler intervals, since another node's uses reach the
// store only at its next pass (Set refuses less; this raises the serve
// flags' value, and a policy stored before --policy-interval was raised).
func (s *Service) offlineAfter(e Effective) time.Duration {
	if e.OfflineAfter <= 0 {
		return 0
	}
	return max(e.OfflineAfter, 3*s.cfg.Interval)
}

// checkOffline refuses an offlineAfter the scheduler cannot honour.
func (s *Service) checkOffline(d time.Duration) error {
	if d > 0 && d < 3*s.cfg.Interval {
		return conncred.Errorf(conncred.EInvalid, "%s (%s) must be at least three policy scheduler intervals (%s on this server): every node writes the connectors it heard once per interval",
			FieldOfflineAfter, FormatDuration(d), FormatDuration(3*s.cfg.Interval))
	}
	return nil
}

// connectorsPass records the offline and online events that are due.
func (s *Service) connectorsPass(ctx context.Context, now time.Time, effective func(appID, connectorID string) Effective, pass *Pass) error {
	after := ""
	for {
		as, err := s.store.ConnectorActivity(ctx, after, scanPage)
		if err != nil {
			return err
		}
		pass.Connectors += len(as)
		for _, a := range as {
			if err := s.connectorDue(ctx, now, a, s.offlineAfter(effective(a.AppID, a.ConnectorID)), pass); err != nil {
				return err
			}
		}
		if len(as) < scanPage {
			return nil
		}
		after = as[len(as)-1].ConnectorID
	}
}

// connectorDue records what is due for one connector: first the end of an
// open offline period it has been heard after, then a new one if it has
// been silent for threshold (0: not watched) since it was last heard, or
// since this node started if that is later.
func (s *Service) connectorDue(ctx context.Context, now time.Time, a ConnectorActivity, threshold time.Duration, pass *Pass) error {
	last := a.LastSeen.UTC()
	open := a.OfflineSince
	if open != nil && last.After(*open) {
		since := open.UTC()
		k := EventKey{CredentialID: a.ConnectorID, Kind: AuditConnectorOnline, Threshold: since}
		reason := fmt.Sprintf("heard again at %s after silence since %s", last.Format(time.RFC3339), since.Format(time.RFC3339))
		data := ConnectorData{ConnectorID: a.ConnectorID, AppID: a.AppID, DisplayName: a.DisplayName, Hosts: a.Hosts, LastSeenAt: last, OfflineSince: &since}
		if err := s.emitConnector(ctx, now, k, false, a, reason, data, pass); err != nil {
			return err
		}
		open = nil
	}
	if open != nil || threshold <= 0 {
		return nil
	}
	from := last
	if s.started.After(from) {
		from = s.started
	}
	if from.Add(threshold).After(now) {
		return nil
	}
	k := EventKey{CredentialID: a.ConnectorID, Kind: AuditConnectorOffline, Threshold: last}
	reason := fmt.Sprintf("no call from the connector for %s or more (last heard %s)", FormatDuration(threshold), last.Format(time.RFC3339))
	data := ConnectorData{ConnectorID: a.ConnectorID, AppID: a.AppID, DisplayName: a.DisplayName, Hosts: a.Hosts, LastSeenAt: last,
		OfflineAfter: threshold.String()}
	return s.emitConnector(ctx, now, k, true, a, reason, data, pass)
}

func (s *Service) emitConnector(ctx context.Context, now time.Time, k EventKey, offline bool, a ConnectorActivity, reason string, data ConnectorData, pass *Pass) error {
	ev := conncred.AuditEvent{
		ID: ksuid.New(now), Time: now, Kind: k.Kind, Actor: "system", Outcome: "success", Reason: reason,
		AppID: a.AppID, ConnectorID: a.ConnectorID, Count: 1,
	}
	body, _ := json.Marshal(data) // strings, ints and times: cannot fail
	hook := webhook.Event{ID: webhookEventID(k), Type: k.Kind, Data: body, OccurredAt: now.UTC().Truncate(time.Microsecond)}
	won, err := s.store.EmitConnectorEvent(ctx, k, offline, ev, []webhook.Event{hook})
	if err != nil || !won {
		return err
	}
	s.auth.StreamAudit(ev)
	pass.Emitted[k.Kind]++
	s.cfg.Observer.EventEmitted(k.Kind)
	return nil
}

// ConnectorData is the data of the connector.offline and connector.online
// webhooks: the connector, how many hosts it has, and when it was last
// heard; OfflineAfter (offline) is the threshold that applied, and
// OfflineSince (online) when the silence it ends began.
type ConnectorData struct {
	ConnectorID  string     `json:"connectorId"`
	AppID        string     `json:"appId"`
	DisplayName  string     `json:"displayName"`
	Hosts        int        `json:"hosts"`
	LastSeenAt   time.Time  `json:"lastSeenAt"`
	OfflineAfter string     `json:"offlineAfter,omitempty"`
	OfflineSince *time.Time `json:"offlineSince,omitempty"`
}
