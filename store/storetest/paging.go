package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/conncred/conncred"
)

var pagingTests = []test{
	{"Apps", testPagingApps},
	{"Connectors", testPagingConnectors},
	{"Credentials", testPagingCredentials},
	{"CursorRecordDeleted", testPagingCursorRecordDeleted},
	{"LaterInserts", testPagingLaterInserts},
}

// pageSizes are the page sizes every list is walked with: one, one that does
// not divide the total, the total itself (a full last page, then an empty
// one), and more than the total.
var pageSizes = []int{1, 7, 25, 100}

// fetchFunc returns the ids of one page.
type fetchFunc func(opt conncred.ListOptions) ([]string, error)

// walk pages through a list and checks every page: never longer than the
// limit, ordered, starting after the cursor. It stops at the first short
// page, after checking that an empty page follows a full one.
func walk(t *testing.T, what string, limit int, includeDeleted bool, fetch fetchFunc) []string {
	t.Helper()
	var all []string
	after := ""
	for range 1000 {
		page, err := fetch(conncred.ListOptions{After: after, Limit: limit, IncludeDeleted: includeDeleted})
		must(t, err)
		if len(page) > limit {
			t.Fatalf("%s: page of %d records, limit %d", what, len(page), limit)
		}
		if !slices.IsSorted(page) || len(page) > 0 && page[0] <= after {
			t.Fatalf("%s: page after %q out of order: %v", what, after, page)
		}
		all = append(all, page...)
		if len(page) < limit {
			return all
		}
		after = page[len(page)-1]
	}
	t.Fatalf("%s: paging did not end", what)
	return nil
}

// checkWalks walks a list with every page size, with and without deleted
// records, and compares the whole with what was written.
func checkWalks(t *testing.T, what string, all, live []string, fetch fetchFunc) {
	t.Helper()
	for _, limit := range pageSizes {
		for _, includeDeleted := range []bool{false, true} {
			want := live
			if includeDeleted {
				want = all
			}
			got := walk(t, what, limit, includeDeleted, fetch)
			wantIDs(t, fmt.Sprintf("%s by pages of %d, IncludeDeleted %v", what, limit, includeDeleted), got, want)
		}
	}
}

// shuffled returns n fresh ids in a deterministic order that is not their
// sort order, so that a store returning rows in insertion order fails.
func shuffled(n int) (insertOrder, sorted []string) {
	for range n {
		sorted = append(sorted, newID())
	}
	insertOrder = slices.Clone(sorted)
	rand.New(rand.NewPCG(1, 2)).Shuffle(n, func(i, j int) { insertOrder[i], insertOrder[j] = insertOrder[j], insertOrder[i] })
	return insertOrder, sorted
}

// deletedIndex says which of the 25 records a paging test deletes.
func deletedIndex(i int) bool { return i%4 == 1 }

func testPagingApps(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	insert, sorted := shuffled(25)
	for _, id := range insert {
		a := app()
		a.ID = id
		must(t, s.CreateApp(ctx, a))
	}
	var live []string
	for i, id := range sorted {
		if deletedIndex(i) {
			must(t, s.DeleteApp(ctx, id, base))
		} else {
			live = append(live, id)
		}
	}
	checkWalks(t, "ListApps", sorted, live, func(opt conncred.ListOptions) ([]string, error) {
		page, err := s.ListApps(ctx, opt)
		return idsOf(page, appID), err
	})
}

func testPagingConnectors(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	a, other := newApp(t, s), newApp(t, s)
	insert, sorted := shuffled(25)
	for _, id := range insert {
		c := connector(a.ID)
		c.ID = id
		must(t, s.CreateConnector(ctx, c))
		newConnector(t, s, other.ID) // interleaved, never listed
	}
	var live []string
	for i, id := range sorted {
		if deletedIndex(i) {
			must(t, s.DeleteConnector(ctx, id, base))
		} else {
			live = append(live, id)
		}
	}
	checkWalks(t, "ListConnectors", sorted, live, func(opt conncred.ListOptions) ([]string, error) {
		page, err := s.ListConnectors(ctx, a.ID, opt)
		return idsOf(page, connectorID), err
	})
}

func testPagingCredentials(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	a := newApp(t, s)
	c, sibling := newConnector(t, s, a.ID), newConnector(t, s, a.ID)
	insert, sorted := shuffled(25)
	for _, id := range insert {
		cr := credential(&c)
		cr.ID = id
		must(t, s.CreateCredential(ctx, cr, conncred.ActiveLimit{}))
		newCredential(t, s, &sibling) // interleaved, filtered out
		newCredential(t, s, nil)
	}
	var live []string
	for i, id := range sorted {
		if deletedIndex(i) {
			_, err := s.RevokeCredential(ctx, id, base)
			must(t, err)
		} else {
			live = append(live, id)
		}
	}
	for name, f := range map[string]conncred.CredentialFilter{
		"by connector":        {ConnectorID: c.ID},
		"by app and kind":     {AppID: a.ID, Kind: conncred.KindConnector, ConnectorID: c.ID},
		"by connector usable": {ConnectorID: c.ID, UsableAt: ptr(at(time.Hour))},
	} {
		all := sorted
		if f.UsableAt != nil {
			all = live // revoked credentials are never usable
		}
		checkWalks(t, "ListCredentials "+name, all, live, func(opt conncred.ListOptions) ([]string, error) {
			f.ListOptions = opt
			page, err := s.ListCredentials(ctx, f)
			return idsOf(page, credentialID), err
		})
	}
	// Newest first: the usable ones, and the revoked ones, each by pages.
	var revoked []string
	for i, id := range sorted {
		if deletedIndex(i) {
			revoked = append(revoked, id)
		}
	}
	for name, tc := range map[string]struct {
		f    conncred.CredentialFilter
		want []string
	}{
		"usable":       {conncred.CredentialFilter{ConnectorID: c.ID, UsableAt: ptr(at(time.Hour))}, live},
		"unusable":     {conncred.CredentialFilter{ConnectorID: c.ID, UnusableAt: ptr(at(time.Hour))}, revoked},
		"all":          {conncred.CredentialFilter{ConnectorID: c.ID, ListOptions: conncred.ListOptions{IncludeDeleted: true}}, sorted},
		"live, by app": {conncred.CredentialFilter{AppID: a.ID, ConnectorID: c.ID, Kind: conncred.KindConnector}, live},
	} {
		want := slices.Clone(tc.want)
		slices.Reverse(want)
		for _, limit := range pageSizes {
			got := walkDescending(t, limit, func(after string) ([]string, error) {
				f := tc.f
				f.Descending, f.After, f.Limit = true, after, limit
				page, err := s.ListCredentials(ctx, f)
				return idsOf(page, credentialID), err
			})
			wantIDs(t, fmt.Sprintf("ListCredentials %s, newest first by pages of %d", name, limit), got, want)
		}
	}
}

// testPagingCursorRecordDeleted deletes the last record of a page before the
// next page is read: the cursor is a position, not a record to look up.
func testPagingCursorRecordDeleted(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	var want []string
	for range 10 {
		want = append(want, newApp(t, s).ID)
	}
	first, err := s.ListApps(ctx, conncred.ListOptions{Limit: 4})
	must(t, err)
	wantIDs(t, "first page", idsOf(first, appID), want[:4])
	must(t, s.DeleteApp(ctx, want[3], base))
	rest, err := s.ListApps(ctx, conncred.ListOptions{After: want[3], Limit: 100})
	must(t, err)
	wantIDs(t, "page after a deleted cursor", idsOf(rest, appID), want[4:])
}

// testPagingLaterInserts adds records while a walk is under way: the pages
// already read do not shift, and the new records come at the end.
func testPagingLaterInserts(t *testing.T, s conncred.Store) {
	ctx := t.Context()
	c := newConnector(t, s, newApp(t, s).ID)
	var want []string
	for range 10 {
		want = append(want, newCredential(t, s, &c).ID)
	}
	var got []string
	f := conncred.CredentialFilter{ConnectorID: c.ID, ListOptions: conncred.ListOptions{Limit: 4}}
	for range 20 {
		page, err := s.ListCredentials(ctx, f)
		must(t, err)
		got = append(got, idsOf(page, credentialID)...)
		if len(page) < f.Limit {
			break
		}
		f.After = page[len(page)-1].ID
		if len(want) < 16 {
			want = append(want, newCredential(t, s, &c).ID, newCredential(t, s, &c).ID)
		}
	}
	wantIDs(t, "credentials listed while more were created", got, want)
}
