package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
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

// Actors, sources and outcomes of the filter tests' events: client ids
// that share beginnings, the counted records' bare IPs beside individual
// events' host:port (IPv6 in brackets), and characters a LIKE pattern would
// read as wildcards.
var (
	filterActors   = []string{"brave-falcon-40213@127.0.0.1:8443/pcc", "system", "brave-falcon-4021@127.0.0.1:8443/pcc", "quiet_otter-7@127.0.0.1:8443/ccc", "", "systém"}
	filterSources  = []string{"[::1]:53211", "::1", "10.1.2.3:443", "10.10.0.1", "", "10.1.9.9", "%x_y"}
	filterOutcomes = []string{"success", "failure", "unchanged"}
)

// testAuditFilter checks every AuditFilter field, alone and combined, in
// both orders, against plain comparisons. Event times are not in ID order,
// so that a store ordering by time fails.
func testAuditFilter(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	kinds := []string{"token.issued", "token.refused", "credential.revoked"}
	connectors := []string{"conn-a", "conn-b", ""}
	var all []conncred.AuditEvent
	for i := range 42 {
		e := auditEvent(i)
		e.Kind, e.ConnectorID, e.CredentialID = kinds[i%3], connectors[i%4%3], fmt.Sprintf("cred-%d", i%5)
		e.Actor, e.Source, e.Outcome = filterActors[i%len(filterActors)], filterSources[i%len(filterSources)], filterOutcomes[i%11%3]
		e.Time = at(time.Duration(i*7%30) * time.Minute)
		e.Count = i + 1
		all = append(all, e)
	}
	// In three batches, the later first.
	must(t, s.AppendAudit(ctx, all[28:]))
	must(t, s.AppendAudit(ctx, all[:14]))
	must(t, s.AppendAudit(ctx, all[14:28]))

	matches := func(f conncred.AuditFilter, e conncred.AuditEvent) bool {
		source := len(f.SourcePrefixes) == 0
		for _, p := range f.SourcePrefixes {
			source = source || strings.HasPrefix(e.Source, p)
		}
		switch {
		case f.Kind != "" && e.Kind != f.Kind,
			f.ConnectorID != "" && e.ConnectorID != f.ConnectorID,
			f.CredentialID != "" && e.CredentialID != f.CredentialID,
			!strings.HasPrefix(e.Actor, f.ActorPrefix),
			f.Actor != "" && e.Actor != f.Actor,
			f.Outcome != "" && e.Outcome != f.Outcome,
			!source,
			!f.Since.IsZero() && e.Time.Before(f.Since),
			!f.Until.IsZero() && !e.Time.Before(f.Until),
			f.After != "" && !f.Descending && e.ID <= f.After,
			f.After != "" && f.Descending && e.ID >= f.After:
			return false
		}
		return true
	}
	for name, f := range map[string]conncred.AuditFilter{
		"none":                      {},
		"kind":                      {Kind: "token.refused"},
		"connector":                 {ConnectorID: "conn-a"},
		"credential":                {CredentialID: "cred-3"},
		"actor, whole":              {ActorPrefix: "brave-falcon-40213@127.0.0.1:8443/pcc"},
		"actor, beginning":          {ActorPrefix: "brave-falcon-4021"},
		"actor system":              {ActorPrefix: "system"},
		"actor, underscore":         {ActorPrefix: "quiet_"},
		"actor, not a wildcard":     {ActorPrefix: "quiet%"},
		"actor, accent":             {ActorPrefix: "systé"},
		"actor, case":               {ActorPrefix: "System"},
		"actor exactly":             {Actor: "brave-falcon-4021@127.0.0.1:8443/pcc"},
		"actor exactly, system":     {Actor: "system"},
		"actor exactly, a part":     {Actor: "brave-falcon"},
		"actor exactly and prefix":  {Actor: "system", ActorPrefix: "sys"},
		"actor exactly, no prefix":  {Actor: "system", ActorPrefix: "brave"},
		"outcome":                   {Outcome: "failure"},
		"outcome unchanged":         {Outcome: "unchanged"},
		"source":                    {SourcePrefixes: []string{"10.1."}},
		"source, one address":       {SourcePrefixes: []string{"10.1.2.3:443"}},
		"sources, either":           {SourcePrefixes: []string{"::1", "[::1"}},
		"source, wildcards":         {SourcePrefixes: []string{"%x"}},
		"source, empty prefix":      {SourcePrefixes: []string{"10.10.", ""}},
		"source, none":              {SourcePrefixes: []string{"192.0.2."}},
		"since (inclusive)":         {Since: at(21 * time.Minute)},
		"until (exclusive)":         {Until: at(7 * time.Minute)},
		"window":                    {Since: at(7 * time.Minute), Until: at(14 * time.Minute)},
		"empty window":              {Since: at(7 * time.Minute), Until: at(7 * time.Minute)},
		"after":                     {After: all[11].ID},
		"limit":                     {Limit: 4},
		"kind and connector":        {Kind: "token.issued", ConnectorID: "conn-b"},
		"actor and outcome":         {ActorPrefix: "brave-", Outcome: "success"},
		"credential, actor, source": {CredentialID: "cred-1", ActorPrefix: "brave", SourcePrefixes: []string{"10.", "["}},
		"everything":                {Kind: "token.issued", ConnectorID: "conn-a", Since: at(time.Minute), Until: at(29 * time.Minute), After: all[2].ID},
		"everything, limited":       {Kind: "token.refused", CredentialID: "cred-1", Since: base, Until: at(time.Hour), Limit: 1},
		"every new field":           {ActorPrefix: "brave-falcon-4021", Outcome: "success", SourcePrefixes: []string{"::1", "10.1"}, Since: at(time.Minute)},
		"unknown kind":              {Kind: "token.nope"},
	} {
		for _, desc := range []bool{false, true} {
			f := f
			f.Descending = desc
			if desc && f.After != "" {
				f.After = all[30].ID
			}
			ordered := all
			if desc {
				ordered = slices.Clone(all)
				slices.Reverse(ordered)
			}
			var want []string
			for _, e := range ordered {
				if matches(f, e) && (f.Limit == 0 || len(want) < f.Limit) {
					want = append(want, e.ID)
				}
			}
			if f.Limit == 0 {
				f.Limit = 100
			}
			got, err := s.ListAudit(ctx, f)
			must(t, err)
			wantIDs(t, fmt.Sprintf("ListAudit, filter %s, descending %v", name, desc), idsOf(got, auditID), want)
			for _, e := range got {
				for _, w := range all {
					if w.ID == e.ID {
						checkAudit(t, "listed audit event", e, w)
					}
				}
			}
		}
	}
}

func testAuditPaging(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	var all, refused, failed []string
	var events []conncred.AuditEvent
	for i := range 25 {
		e := auditEvent(i)
		if i%3 == 0 {
			e.Kind = "token.refused"
			refused = append(refused, e.ID)
		}
		if i%4 == 0 {
			e.Outcome, e.Actor = "failure", "system"
			failed = append(failed, e.ID)
		}
		all = append(all, e.ID)
		events = append(events, e)
	}
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	for _, e := range events {
		must(t, s.AppendAudit(ctx, []conncred.AuditEvent{e}))
	}
	filters := map[string]conncred.AuditFilter{
		"all": {}, "of kind token.refused": {Kind: "token.refused"}, "failed, by system": {Outcome: "failure", ActorPrefix: "sys"},
		"by system": {Actor: "system"},
	}
	wants := map[string][]string{"all": all, "of kind token.refused": refused, "failed, by system": failed, "by system": failed}
	for _, limit := range pageSizes {
		for name, f := range filters {
			got := walk(t, "ListAudit", limit, false, func(opt conncred.ListOptions) ([]string, error) {
				f.After, f.Limit = opt.After, opt.Limit
				page, err := s.ListAudit(ctx, f)
				return idsOf(page, auditID), err
			})
			wantIDs(t, fmt.Sprintf("ListAudit %s by pages of %d", name, limit), got, wants[name])
			got = walkDescending(t, limit, func(after string) ([]string, error) {
				f.After, f.Limit, f.Descending = after, limit, true
				page, err := s.ListAudit(ctx, f)
				f.Descending = false
				return idsOf(page, auditID), err
			})
			want := slices.Clone(wants[name])
			slices.Reverse(want)
			wantIDs(t, fmt.Sprintf("ListAudit %s newest first by pages of %d", name, limit), got, want)
		}
	}
}

// walkDescending pages through a newest-first list as walk does through
// an oldest-first one: every page at most limit long, in descending order,
// below the cursor, until a short page.
func walkDescending(t *testing.T, limit int, fetch func(after string) ([]string, error)) []string {
	t.Helper()
	var all []string
	after := ""
	for range 1000 {
		page, err := fetch(after)
		must(t, err)
		if len(page) > limit {
			t.Fatalf("newest first: page of %d records, limit %d", len(page), limit)
		}
		desc := slices.Clone(page)
		slices.Reverse(desc)
		if !slices.IsSorted(desc) || slices.Contains(page, after) || after != "" && len(page) > 0 && page[0] >= after {
			t.Fatalf("newest first: page after %q out of order: %v", after, page)
		}
		all = append(all, page...)
		if len(page) < limit {
			return all
		}
		after = page[len(page)-1]
	}
	t.Fatal("newest first: paging did not end")
	return nil
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
