package authority

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/hostport"
	"github.com/conncred/conncred/internal/ksuid"
	"github.com/conncred/conncred/secret"
)

// Audit event kinds.
const (
	AuditTokenIssued  = "token.issued"
	AuditTokenRefused = "token.refused"
)

// Audit outcomes besides "success" and "failure".
const (
	// OutcomeUnchanged marks a request that succeeded without changing
	// anything, such as revoking an already-revoked credential: the trail
	// must not show a second revocation that did not happen.
	OutcomeUnchanged = "unchanged"
)

// Reasons of the credential revocations an app or connector delete causes.
const (
	ReasonAppDeleted       = "app deleted"
	ReasonConnectorDeleted = "connector deleted"
)

// auditAppender is the one Store method the auditor uses.
type auditAppender interface {
	AppendAudit(ctx context.Context, events []conncred.AuditEvent) error
}

// auditor buffers audit events and writes them in batches. Token events are
// counted, not stored one by one: all issued (or refused for one reason) in
// the same minute for the same credential, actor and source IP become one
// record with a Count, so an exchange storm or an attack cannot flood the
// table. Other events are stored individually.
type auditor struct {
	store auditAppender
	log   *slog.Logger
	sink  func(conncred.AuditEvent)
	limit int // most pending events and most counted records (maxPendingAudit)

	// writing is held for a whole write, so a Flush that runs while the
	// background loop is writing waits for that write: when Flush returns,
	// everything buffered before it was called is in the store.
	writing sync.Mutex

	mu       sync.Mutex
	pending  []conncred.AuditEvent
	counted  map[countKey]*conncred.AuditEvent
	overflow int // counted records folded into an overflow record since the last flush
}

type countKey struct {
	kind, credentialID, actor, source, reason string
	minute                                    int64
}

// maxPendingAudit bounds the buffer while the store is unreachable. Past it
// individual events are dropped (and counted in the log) rather than the
// server running out of memory.
const maxPendingAudit = 100_000

func newAuditor(store auditAppender, log *slog.Logger, sink func(conncred.AuditEvent)) *auditor {
	return &auditor{store: store, log: log, sink: sink, limit: maxPendingAudit, counted: map[countKey]*conncred.AuditEvent{}}
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

// add gives e the id the store will keep, streams it to the sink, and
// buffers it. The id comes first so that a streamed line can be matched
// with the stored record; a token event streams with the id of the counted
// record it is folded into.
func (au *auditor) add(e conncred.AuditEvent) {
	au.mu.Lock()
	e.ID = au.buffer(e)
	au.mu.Unlock()
	if au.sink != nil {
		// Outside the lock: a slow sink must not stall every request
		// that records an event.
		au.sink(e)
	}
}

// buffer keeps e (or folds it into its counted record) and returns the id
// of the record that holds it. It runs under au.mu.
func (au *auditor) buffer(e conncred.AuditEvent) string {
	if e.Kind == AuditTokenIssued || e.Kind == AuditTokenRefused {
		// A counted record stands for many requests, from many connections
		// of one client: the source is its IP, without the ephemeral port,
		// or every connection would make a record of its own.
		e.Source = hostport.Host(e.Source)
		k := countKey{e.Kind, e.CredentialID, e.Actor, e.Source, e.Reason, e.Time.Unix() / 60}
		if _, ok := au.counted[k]; !ok && len(au.counted) >= au.limit {
			// Full (a flood of distinct clients or credentials): the event
			// is still counted, in one record per kind and reason that
			// names no credential, actor or source, rather than lost.
			k = countKey{kind: e.Kind, reason: e.Reason, minute: k.minute}
			e.CredentialID, e.AppID, e.ConnectorID, e.Actor, e.Source = "", "", "", "(overflow)", ""
			au.overflow++
		}
		if c, ok := au.counted[k]; ok {
			c.Count += e.Count
			return c.ID
		}
		e.ID = ksuid.New(e.Time)
		e.Time = time.Unix(k.minute*60, 0).UTC()
		au.counted[k] = &e
		return e.ID
	}
	e.ID = ksuid.New(e.Time)
	if len(au.pending) >= au.limit {
		au.log.Error("audit buffer full; dropping event", "kind", e.Kind, "id", e.ID)
		return e.ID
	}
	au.pending = append(au.pending, e)
	return e.ID
}

// flush writes the individual events and the counts of minutes that have
// ended.
func (au *auditor) flush(ctx context.Context, now time.Time) error { return au.write(ctx, now, false) }

// flushAll writes everything, including counts of the current minute.
func (au *auditor) flushAll(ctx context.Context, now time.Time) error {
	return au.write(ctx, now, true)
}

// write returns the store's error (the events are kept for a retry).
func (au *auditor) write(ctx context.Context, now time.Time, all bool) error {
	au.writing.Lock()
	defer au.writing.Unlock()
	au.mu.Lock()
	batch := au.pending
	au.pending = nil
	minute := now.Unix() / 60
	for k, e := range au.counted {
		if all || k.minute < minute {
			batch = append(batch, *e)
			delete(au.counted, k)
		}
	}
	overflow := au.overflow
	au.overflow = 0
	au.mu.Unlock()
	if overflow > 0 {
		au.log.Warn("audit: too many distinct token-event records in one minute; folded some into overflow records without credential or source", "folded", overflow)
	}
	if len(batch) == 0 {
		return nil
	}
	err := au.store.AppendAudit(ctx, batch)
	if err != nil {
		au.log.Warn("writing audit events; will retry", "events", len(batch), "err", err)
		au.mu.Lock()
		kept := len(au.pending)+len(batch) <= au.limit
		if kept {
			au.pending = append(batch, au.pending...)
		}
		au.mu.Unlock()
		if !kept {
			au.log.Error("audit buffer full while the store is failing; dropping events", "events", len(batch))
		}
	}
	return err
}

// AuditQuery selects audit events for ListAudit. Empty fields do not
// filter.
type AuditQuery struct {
	Kind         string
	ConnectorID  string
	CredentialID string
	// Actor keeps the events of actors (client ids, "system") that start
	// with it: a whole client id, or its beginning.
	Actor string
	// Outcome is success, failure or unchanged.
	Outcome string
	// Source keeps events from source addresses that start with it, such
	// as "10.1." or "::1" (which also finds "[::1]:53211": individual
	// events keep the port, counted token events only the address).
	Source       string
	Since, Until time.Time
	// Newest lists newest first; the default is oldest first.
	Newest bool
	Page   PageRequest
}

// Audit outcomes a query may name.
var auditOutcomes = []string{"success", "failure", OutcomeUnchanged}

// maxAuditPrefix bounds the actor and source filters: longer than any
// stored value, and no reason to send the store more.
const maxAuditPrefix = 512

// wholeActor reports whether actor can only be a whole actor, never the
// beginning of a longer one: "system", or a client id with one of
// conncred's suffixes (nothing follows the suffix). Such a filter is an
// exact match, which the store reads from its index in order instead of
// sorting every event of the prefix's range: 35 to 59 ms for 12,000 events
// of one admin on a loaded 2-core machine, against under a millisecond.
func wholeActor(actor string) bool {
	if actor == conncred.System.ClientID {
		return true
	}
	id, err := secret.ParseClientID(actor)
	if err != nil {
		return false
	}
	switch id.Suffix {
	case secret.SuffixConnector, secret.SuffixPersonal, "wfe": // wfe: a trust's (trustdb.SuffixTrust)
		return true
	}
	return false
}

// sourcePrefixes returns the stored forms an address prefix can take. An
// individual event's source is host:port, with an IPv6 host in brackets
// ("[::1]:53211"); a counted token event's is the bare address ("::1").
// So "::1" is also looked up as "[::1", and "[::1" (or "[::1]") also as
// "::1".
func sourcePrefixes(s string) []string {
	if s == "" {
		return nil
	}
	out := []string{s}
	if rest, ok := strings.CutPrefix(s, "["); ok {
		host, after, closed := strings.Cut(rest, "]")
		if host != "" && (!closed || after == "") {
			out = append(out, host)
		}
	} else if strings.Contains(s, ":") {
		out = append(out, "["+s)
	}
	return out
}

func (q AuditQuery) validate() error {
	if q.Outcome != "" && !slices.Contains(auditOutcomes, q.Outcome) {
		return conncred.Errorf(conncred.EInvalid, "outcome must be one of %s", strings.Join(auditOutcomes, ", "))
	}
	for _, f := range []struct{ name, v string }{{"actor", q.Actor}, {"source", q.Source}} {
		if len(f.v) > maxAuditPrefix || !utf8.ValidString(f.v) {
			return conncred.Errorf(conncred.EInvalid, "%s must be UTF-8 text of at most %d bytes: a client id or address, or its beginning", f.name, maxAuditPrefix)
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && !q.Until.After(q.Since) {
		return conncred.Errorf(conncred.EInvalid, "until must be after since")
	}
	return nil
}

// ListAudit returns a page of audit events, oldest first (newest first
// when q says so). Admins only. Every filter is the store's, so a page
// costs the same whatever share of the trail matches.
func (a *Authority) ListAudit(ctx context.Context, q AuditQuery) ([]conncred.AuditEvent, string, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, "", err
	}
	opt, err := listOptions(q.Page)
	if err != nil {
		return nil, "", err
	}
	if err := q.validate(); err != nil {
		return nil, "", err
	}
	f := conncred.AuditFilter{
		Kind: q.Kind, ConnectorID: q.ConnectorID, CredentialID: q.CredentialID,
		Outcome: q.Outcome, SourcePrefixes: sourcePrefixes(q.Source),
		Since: q.Since, Until: q.Until, Descending: q.Newest, After: opt.After, Limit: opt.Limit,
	}
	if wholeActor(q.Actor) {
		f.Actor = q.Actor
	} else {
		f.ActorPrefix = q.Actor
	}
	events, err := a.store.ListAudit(ctx, f)
	if err != nil {
		return nil, "", err
	}
	events, next := page(events, opt, func(e conncred.AuditEvent) string { return e.ID })
	return events, next, nil
}

// RecordAudit buffers an audit event for another wing (package baton, ...),
// filling in its id, time, actor, source and outcome as for the authority's
// own events. The event must carry no secret.
func (a *Authority) RecordAudit(ctx context.Context, e conncred.AuditEvent) { a.record(ctx, e) }

// StreamAudit hands the audit sink (--audit-log) an event another wing
// stored itself, in its own transaction and with its own id (the policy
// scheduler's, written with the marker that makes it happen once). It is
// not buffered or stored again; call it after the commit, so the stream
// never shows an event the trail lacks.
func (a *Authority) StreamAudit(e conncred.AuditEvent) {
	if a.audit.sink != nil {
		a.audit.sink(e)
	}
}
