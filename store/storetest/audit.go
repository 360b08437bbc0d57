package storetest

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/conncred/conncred"
)

var auditTests = []test{
	{"RoundTrip", testAuditRoundTrip},
	{"Filter", testAuditFilter},
	{"Paging", testAuditPaging},
	{"BatchIsAtomic", testAuditBatchIsAtomic},
}

func auditEvent(i int) conncred.AuditEvent {
	return conncred.AuditEvent{ID: newID(), Time: base, Kind: "credential.created", Actor: "brave-falcon-40213@127.0.0.1:8443/pcc",
		Source: "[::1]:53211", Outcome: "success", AppID: "app", ConnectorID: "conn", CredentialID: fmt.Sprintf("cred-%d", i), Count: 1}
}

func testAuditRoundTrip(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	must(t, s.AppendAudit(ctx, nil))
	must(t, s.AppendAudit(ctx, []conncred.AuditEvent{}))
	list, err := s.ListAudit(ctx, conncred.AuditFilter{Limit: 100})
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("empty appends stored %d events", len(list))
	}

	ok := auditEvent(0)
	refused := conncred.AuditEvent{ID: newID(), Time: at(time.Second).In(time.FixedZone("UTC+1", 3600)), Kind: "token.refused",
		Actor: "system", Outcome: "failure", Reason: `assertion "jti" replayed`, Count: 17}
	must(t, s.AppendAudit(ctx, []conncred.AuditEvent{ok, refused}))
	list, err = s.ListAudit(ctx, conncred.AuditFilter{Limit: 100})
	must(t, err)
	if len(list) != 2 {
		t.Fatalf("ListAudit: got %d events, want 2", len(list))
	}
	checkAudit(t, "audit event", list[0], ok)
	checkAudit(t, "audit event with empty fields", list[1], refused)
}

// testAuditFilter checks every AuditFilter field, alone and combined, against
// plain comparisons. Event times are not in ID order, so that a store
// ordering by time fails.
func testAuditFilter(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	kinds := []string{"token.issued", "token.refused", "credential.revoked"}
	connectors := []string{"conn-a", "conn-b", ""}
	var all []conncred.AuditEvent
	for i := range 30 {
		e := auditEvent(i)
		e.Kind, e.ConnectorID, e.CredentialID = kinds[i%3], connectors[i%4%3], fmt.Sprintf("cred-%d", i%5)
		e.Time = at(time.Duration(i*7%30) * time.Minute)
		e.Count = i + 1
		all = append(all, e)
	}
	// In three batches, the later first.
	must(t, s.AppendAudit(ctx, all[20:]))
	must(t, s.AppendAudit(ctx, all[:10]))
	must(t, s.AppendAudit(ctx, all[10:20]))

	matches := func(f conncred.AuditFilter, e conncred.AuditEvent) bool {
		switch {
		case f.Kind != "" && e.Kind != f.Kind,
			f.ConnectorID != "" && e.ConnectorID != f.ConnectorID,
			f.CredentialID != "" && e.CredentialID != f.CredentialID,
			!f.Since.IsZero() && e.Time.Before(f.Since),
			!f.Until.IsZero() && !e.Time.Before(f.Until),
			f.After != "" && e.ID <= f.After:
			return false
		}
		return true
	}
	for name, f := range map[string]conncred.AuditFilter{
		"none":                {},
		"kind":                {Kind: "token.refused"},
		"connector":           {ConnectorID: "conn-a"},
		"credential":          {CredentialID: "cred-3"},
		"since (inclusive)":   {Since: at(21 * time.Minute)},
		"until (exclusive)":   {Until: at(7 * time.Minute)},
		"window":              {Since: at(7 * time.Minute), Until: at(14 * time.Minute)},
		"empty window":        {Since: at(7 * time.Minute), Until: at(7 * time.Minute)},
		"after":               {After: all[11].ID},
		"limit":               {Limit: 4},
		"kind and connector":  {Kind: "token.issued", ConnectorID: "conn-b"},
		"everything":          {Kind: "token.issued", ConnectorID: "conn-a", Since: at(time.Minute), Until: at(29 * time.Minute), After: all[2].ID},
		"everything, limited": {Kind: "token.refused", CredentialID: "cred-1", Since: base, Until: at(time.Hour), Limit: 1},
		"unknown kind":        {Kind: "token.nope"},
	} {
		var want []string
		for _, e := range all {
			if matches(f, e) && (f.Limit == 0 || len(want) < f.Limit) {
				want = append(want, e.ID)
			}
		}
		if f.Limit == 0 {
			f.Limit = 100
		}
		got, err := s.ListAudit(ctx, f)
		must(t, err)
		wantIDs(t, "ListAudit, filter "+name, idsOf(got, auditID), want)
		for _, e := range got {
			for _, w := range all {
				if w.ID == e.ID {
					checkAudit(t, "listed audit event", e, w)
				}
			}
		}
	}
}

func testAuditPaging(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	var all, refused []string
	var events []conncred.AuditEvent
	for i := range 25 {
		e := auditEvent(i)
		if i%3 == 0 {
			e.Kind = "token.refused"
			refused = append(refused, e.ID)
		}
		all = append(all, e.ID)
		events = append(events, e)
	}
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	for _, e := range events {
		must(t, s.AppendAudit(ctx, []conncred.AuditEvent{e}))
	}
	for _, limit := range pageSizes {
		for kind, want := range map[string][]string{"": all, "token.refused": refused} {
			got := walk(t, "ListAudit", limit, false, func(opt conncred.ListOptions) ([]string, error) {
				page, err := s.ListAudit(ctx, conncred.AuditFilter{Kind: kind, After: opt.After, Limit: opt.Limit})
				return idsOf(page, auditID), err
			})
			wantIDs(t, fmt.Sprintf("ListAudit of kind %q by pages of %d", kind, limit), got, want)
		}
	}
}

// testAuditBatchIsAtomic appends batches that fail part way (an ID used
// twice): none of their events may stay.
func testAuditBatchIsAtomic(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	kept := auditEvent(0)
	must(t, s.AppendAudit(ctx, []conncred.AuditEvent{kept}))
	a, b := auditEvent(1), auditEvent(2)
	dupInBatch := a
	dupInBatch.Reason = "second"
	if err := s.AppendAudit(ctx, []conncred.AuditEvent{a, b, dupInBatch}); err == nil {
		t.Fatal("AppendAudit of a batch with one ID twice succeeded")
	}
	c := auditEvent(3)
	if err := s.AppendAudit(ctx, []conncred.AuditEvent{c, kept}); err == nil {
		t.Fatal("AppendAudit of an ID already stored succeeded")
	}
	list, err := s.ListAudit(ctx, conncred.AuditFilter{Limit: 100})
	must(t, err)
	wantIDs(t, "events after two failed batches", idsOf(list, auditID), []string{kept.ID})
}
