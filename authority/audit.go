package authority

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
)

// Audit event kinds.
const (
	AuditTokenIssued  = "token.issued"
	AuditTokenRefused = "token.refused"
)

// auditor buffers audit events and writes them in batches. Token events are
// counted, not stored one by one: all issued (or refused for one reason) in
// the same minute for the same credential, actor and source become one
// record with a Count, so an exchange storm or an attack cannot flood the
// table. Other events are stored individually.
type auditor struct {
	store conncred.Store
	log   *slog.Logger
	sink  func(conncred.AuditEvent)

	mu      sync.Mutex
	pending []conncred.AuditEvent
	counted map[countKey]*conncred.AuditEvent
}

type countKey struct {
	kind, credentialID, actor, source, reason string
	minute                                    int64
}

// maxPendingAudit bounds the buffer while the store is unreachable. Past it
// individual events are dropped (and counted in the log) rather than the
// server running out of memory.
const maxPendingAudit = 100_000

func newAuditor(store conncred.Store, log *slog.Logger, sink func(conncred.AuditEvent)) *auditor {
	return &auditor{store: store, log: log, sink: sink, counted: map[countKey]*conncred.AuditEvent{}}
}

// record fills in the event's id, actor, source and outcome from ctx, and
// buffers it.
func (a *Authority) record(ctx context.Context, e conncred.AuditEvent) {
	if e.Time.IsZero() {
		e.Time = a.now()
	}
	name, source := actor(ctx)
	if e.Actor == "" {
		e.Actor = name
	}
	if e.Source == "" {
		e.Source = source
	}
	if e.Outcome == "" {
		e.Outcome = "success"
	}
	if e.Count == 0 {
		e.Count = 1
	}
	a.audit.add(e)
}

func (au *auditor) add(e conncred.AuditEvent) {
	if au.sink != nil {
		au.sink(e)
	}
	au.mu.Lock()
	defer au.mu.Unlock()
	if e.Kind == AuditTokenIssued || e.Kind == AuditTokenRefused {
		k := countKey{e.Kind, e.CredentialID, e.Actor, e.Source, e.Reason, e.Time.Unix() / 60}
		if c, ok := au.counted[k]; ok {
			c.Count += e.Count
			return
		}
		if len(au.counted) >= maxPendingAudit {
			return
		}
		e.Time = time.Unix(k.minute*60, 0).UTC()
		au.counted[k] = &e
		return
	}
	if len(au.pending) >= maxPendingAudit {
		au.log.Error("audit buffer full; dropping event", "kind", e.Kind)
		return
	}
	e.ID = ksuid.New(e.Time)
	au.pending = append(au.pending, e)
}

// flush writes the individual events and the counts of minutes that have
// ended.
func (au *auditor) flush(ctx context.Context, now time.Time) { au.write(ctx, now, false) }

// flushAll writes everything, including counts of the current minute.
func (au *auditor) flushAll(ctx context.Context, now time.Time) { au.write(ctx, now, true) }

func (au *auditor) write(ctx context.Context, now time.Time, all bool) {
	au.mu.Lock()
	batch := au.pending
	au.pending = nil
	minute := now.Unix() / 60
	for k, e := range au.counted {
		if all || k.minute < minute {
			e.ID = ksuid.New(e.Time)
			batch = append(batch, *e)
			delete(au.counted, k)
		}
	}
	au.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	if err := au.store.AppendAudit(ctx, batch); err != nil {
		au.log.Warn("writing audit events; will retry", "events", len(batch), "err", err)
		au.mu.Lock()
		if len(au.pending)+len(batch) <= maxPendingAudit {
			au.pending = append(batch, au.pending...)
		}
		au.mu.Unlock()
	}
}

// AuditQuery selects audit events for ListAudit.
type AuditQuery struct {
	Kind         string
	ConnectorID  string
	CredentialID string
	Since, Until time.Time
	Page         PageRequest
}

// ListAudit returns a page of audit events, oldest first. Admins only.
func (a *Authority) ListAudit(ctx context.Context, q AuditQuery) ([]conncred.AuditEvent, string, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, "", err
	}
	opt, err := listOptions(q.Page)
	if err != nil {
		return nil, "", err
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		return nil, "", conncred.Errorf(conncred.EInvalid, "until must be after since")
	}
	events, err := a.store.ListAudit(ctx, conncred.AuditFilter{
		Kind: q.Kind, ConnectorID: q.ConnectorID, CredentialID: q.CredentialID,
		Since: q.Since, Until: q.Until, After: opt.After, Limit: opt.Limit,
	})
	if err != nil {
		return nil, "", err
	}
	events, next := page(events, opt, func(e conncred.AuditEvent) string { return e.ID })
	return events, next, nil
}
