package policy

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
	"github.com/conncred/conncred/webhook"
)

// EventKey names one event of one credential: its kind and the instant
// that defines it (for an expiring or expired event the instant the
// threshold was crossed, expiry minus the lead time or the expiry; for a
// dormant or auto-revoked event the start of the idle period, the last
// use or else the creation). A credential used again starts a new idle
// period, so it can be dormant again; a credential whose expiry moves (a
// retirement) is warned again for its new expiry.
type EventKey struct {
	CredentialID string
	Kind         string
	Threshold    time.Time
}

// Emitted is an event as recorded: its key and when it was recorded.
type Emitted struct {
	EventKey
	At time.Time
}

// Observer receives the scheduler's measurements for metrics; package
// metrics implements it. Labels are the constants of this package.
type Observer interface {
	// SchedulerRun counts a pass, with its outcome (RunOK or RunFailed),
	// the credentials it looked at, and how long it took on the clock.
	SchedulerRun(outcome string, credentials int, took time.Duration)
	// EventEmitted counts an event this node recorded (one of EventKinds).
	EventEmitted(kind string)
}

// Outcomes of Observer.SchedulerRun.
const (
	RunOK     = "ok"
	RunFailed = "failed"
)

type nopObserver struct{}

func (nopObserver) SchedulerRun(string, int, time.Duration) {}
func (nopObserver) EventEmitted(string)                     {}

// scanPage is how many credentials one store read returns.
const scanPage = 500

// Run runs the scheduler until ctx ends: a pass at once (so a server that
// was down while thresholds passed catches up on start), then one per
// Config.Interval on the injected clock. A failed pass is logged and
// retried at the next tick.
func (s *Service) Run(ctx context.Context, log *slog.Logger) {
	if log == nil {
		log = slog.Default()
	}
	t := s.clock.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if _, err := s.RunOnce(ctx); err != nil && ctx.Err() == nil {
			log.Error("policy scheduler: pass failed; retrying at the next tick", "err", err)
		}
		select {
		case <-ctx.Done():
			// What this node heard since its last pass, so that a
			// restart does not lose it.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := s.FlushSeen(fctx); err != nil {
				log.Warn("policy scheduler: could not write the connectors heard since the last pass", "err", err)
			}
			return
		case <-t.Chan():
		}
	}
}

// Pass is what one RunOnce did.
type Pass struct {
	Credentials int            // unrevoked connector credentials looked at
	Connectors  int            // connectors with hosts looked at (liveness.go)
	Emitted     map[string]int // events this call recorded, by kind
}

// RunOnce looks at every unrevoked connector credential once and records
// the events that are due and not yet recorded. Each event is recorded by
// one insert against its unique key, so two nodes, or a node restarted
// mid-pass, record it once; the auto-revoke is done by whoever recorded
// it (and, should that node have died before revoking, by any node a
// whole interval later).
func (s *Service) RunOnce(ctx context.Context) (Pass, error) {
	start := s.clock.Now()
	pass := Pass{Emitted: map[string]int{}}
	err := s.runOnce(ctx, &pass)
	outcome := RunOK
	if err != nil {
		outcome = RunFailed
	}
	s.cfg.Observer.SchedulerRun(outcome, pass.Credentials, s.clock.Now().Sub(start))
	return pass, err
}

func (s *Service) runOnce(ctx context.Context, pass *Pass) error {
	// What this node heard goes to the store before anything is judged,
	// so its own connectors are never judged on stale times.
	if err := s.FlushSeen(ctx); err != nil {
		return err
	}
	now := s.auth.Now()
	policies, err := s.store.ListPolicies(ctx)
	if err != nil {
		return err
	}
	eff := map[[2]string]Effective{}
	byConnector := func(appID, connectorID string) Effective {
		k := [2]string{appID, connectorID}
		e, ok := eff[k]
		if !ok {
			e = resolve(s.cfg.Defaults,
				scoped{Scope{Kind: ScopeConnector, ID: connectorID}, policies[Scope{Kind: ScopeConnector, ID: connectorID}]},
				scoped{Scope{Kind: ScopeApp, ID: appID}, policies[Scope{Kind: ScopeApp, ID: appID}]},
				scoped{Scope{Kind: ScopeServer}, policies[Scope{Kind: ScopeServer}]})
			eff[k] = e
		}
		return e
	}
	effective := func(c conncred.Credential) Effective { return byConnector(c.AppID, c.ConnectorID) }
	f := conncred.CredentialFilter{Kind: conncred.KindConnector, ListOptions: conncred.ListOptions{Limit: scanPage}}
	for {
		cs, err := s.store.ListCredentials(ctx, f)
		if err != nil {
			return err
		}
		pass.Credentials += len(cs)
		if err := s.page(ctx, now, cs, effective, pass); err != nil {
			return err
		}
		if len(cs) < scanPage {
			break
		}
		f.After = cs[len(cs)-1].ID
	}
	return s.connectorsPass(ctx, now, byConnector, pass)
}

// due is an event that has come due for a credential.
type due struct {
	key EventKey
	c   conncred.Credential
	why string
}

// page records the due events of one page of credentials.
func (s *Service) page(ctx context.Context, now time.Time, cs []conncred.Credential, effective func(conncred.Credential) Effective, pass *Pass) error {
	var all []due
	var ids []string
	for _, c := range cs {
		ds := dueEvents(c, effective(c), now)
		if len(ds) > 0 {
			ids = append(ids, c.ID)
			all = append(all, ds...)
		}
	}
	if len(all) == 0 {
		return nil
	}
	done, err := s.store.EmittedEvents(ctx, ids)
	if err != nil {
		return err
	}
	seen := make(map[EventKey]time.Time, len(done))
	for _, e := range done {
		seen[EventKey{e.CredentialID, e.Kind, e.Threshold.UTC()}] = e.At
	}
	for _, d := range all {
		if at, ok := seen[d.key]; ok {
			if d.key.Kind == AuditAutoRevoked && at.Add(s.cfg.Interval).Before(now) {
				// Recorded a whole interval ago and still not revoked: the
				// node that recorded it died before revoking.
				if _, err := s.auth.RevokeFor(ctx, d.c.ID, ReasonDormant); err != nil {
					return err
				}
			}
			continue
		}
		ev := conncred.AuditEvent{
			ID: ksuid.New(now), Time: now, Kind: d.key.Kind, Actor: "system", Outcome: "success", Reason: d.why,
			AppID: d.c.AppID, ConnectorID: d.c.ConnectorID, CredentialID: d.c.ID, Count: 1,
		}
		won, err := s.store.EmitEvent(ctx, d.key, ev, []webhook.Event{schedulerWebhook(d.key, now)})
		if err != nil {
			return err
		}
		if !won {
			continue // another node recorded it first
		}
		// Stored with the marker; the stream gets it only now that it is
		// committed, so a line in --audit-log is a record in the trail.
		s.auth.StreamAudit(ev)
		pass.Emitted[d.key.Kind]++
		s.cfg.Observer.EventEmitted(d.key.Kind)
		if d.key.Kind == AuditAutoRevoked {
			if _, err := s.auth.RevokeFor(ctx, d.c.ID, ReasonDormant); err != nil {
				return err
			}
		}
	}
	return nil
}

// dueEvents returns the events that are due for c at now under e, in the
// order they happened. Of the expiry warnings only the shortest lead that
// has passed is due (a server that was down through two of them sends the
// latest, not both), and none whose instant came before the credential
// existed (a credential made with 10 days to live is not warned of 14).
// An expired credential is only expired: it is neither warned nor
// dormant.
func dueEvents(c conncred.Credential, e Effective, now time.Time) []due {
	var out []due
	if c.ExpiresAt != nil {
		exp := c.ExpiresAt.UTC()
		if !now.Before(exp) {
			return []due{{EventKey{c.ID, AuditExpired, exp}, c, "expired at " + exp.Format(time.RFC3339)}}
		}
		var warn *due
		for _, lead := range e.ExpiryWarnings { // longest first
			at := exp.Add(-lead)
			if at.After(now) || at.Before(c.CreatedAt) {
				continue
			}
			warn = &due{EventKey{c.ID, AuditExpiring, at}, c,
				fmt.Sprintf("expires at %s (warning %s ahead)", exp.Format(time.RFC3339), FormatDuration(lead))}
		}
		if warn != nil {
			out = append(out, *warn)
		}
	}
	idle := c.CreatedAt
	if c.LastUsedAt != nil && c.LastUsedAt.After(idle) {
		idle = *c.LastUsedAt
	}
	idle = idle.UTC()
	last := "never used; created " + idle.Format(time.RFC3339)
	if c.LastUsedAt != nil {
		last = "last used " + idle.Format(time.RFC3339)
	}
	if e.DormancyThreshold > 0 && !idle.Add(e.DormancyThreshold).After(now) {
		out = append(out, due{EventKey{c.ID, AuditDormant, idle}, c,
			fmt.Sprintf("no token exchange for %s or more (%s)", FormatDuration(e.DormancyThreshold), last)})
	}
	if e.AutoRevokeAfter > 0 && !idle.Add(e.AutoRevokeAfter).After(now) {
		out = append(out, due{EventKey{c.ID, AuditAutoRevoked, idle}, c,
			fmt.Sprintf("revoked: no token exchange for %s or more (%s)", FormatDuration(e.AutoRevokeAfter), last)})
	}
	return out
}
