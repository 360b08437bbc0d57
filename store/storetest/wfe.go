package storetest

import (
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/wfe/wfedb"
)

// wfeTests pin wfedb.Store (the official workload federation shapes),
// which every conncred store also implements.
var wfeTests = []test{
	{"Providers", testWfeProviders},
	{"ProviderWithTrustsIsKept", testWfeProviderWithTrusts},
	{"TrustExtra", testWfeTrustExtra},
}

func wfeStore(t *testing.T, s conncred.Store) wfedb.Store {
	t.Helper()
	ws, ok := s.(wfedb.Store)
	if !ok {
		t.Fatal("the store does not implement wfedb.Store")
	}
	return ws
}

func newProvider(t *testing.T, ws wfedb.Store) wfedb.Provider {
	t.Helper()
	p := wfedb.Provider{ID: newID(), DisplayName: "GitHub", IssuerURL: "https://token.actions.githubusercontent.com",
		WellKnown: "WELL_KNOWN_WORKLOAD_PROVIDER_GITHUB_ACTIONS", CreatedAt: at(0), UpdatedAt: at(0)}
	must(t, ws.CreateProvider(t.Context(), p))
	return p
}

// testWfeProviders: create, read, list, update and delete; a deleted
// provider is gone from reads, lists and updates.
func testWfeProviders(t *testing.T, s conncred.Store) {
	ws := wfeStore(t, s)
	ctx := t.Context()
	p := newProvider(t, ws)
	if err := ws.CreateProvider(ctx, p); conncred.ErrorCode(err) != conncred.EConflict {
		t.Errorf("duplicate id: got %v, want %s", err, conncred.EConflict)
	}
	got, err := ws.GetProvider(ctx, p.ID)
	must(t, err)
	if got.IssuerURL != p.IssuerURL || got.WellKnown != p.WellKnown || !got.CreatedAt.Equal(p.CreatedAt) || got.DeletedAt != nil {
		t.Errorf("read back %+v, want %+v", got, p)
	}
	p.DisplayName, p.Description, p.UpdatedAt = "renamed", "ci", at(time.Hour)
	must(t, ws.UpdateProvider(ctx, p))
	if got, _ = ws.GetProvider(ctx, p.ID); got.DisplayName != "renamed" || got.Description != "ci" || !got.UpdatedAt.Equal(at(time.Hour)) {
		t.Errorf("after update: got %+v", got)
	}
	other := newProvider(t, ws)
	list, err := ws.ListProviders(ctx, conncred.ListOptions{Limit: 10})
	must(t, err)
	if len(list) != 2 || list[0].ID != p.ID || list[1].ID != other.ID {
		t.Errorf("list: got %d providers, want %s then %s", len(list), p.ID, other.ID)
	}
	must(t, ws.DeleteProvider(ctx, p.ID, at(2*time.Hour)))
	if _, err := ws.GetProvider(ctx, p.ID); conncred.ErrorCode(err) != conncred.ENotFound {
		t.Errorf("get after delete: got %v, want %s", err, conncred.ENotFound)
	}
	if err := ws.UpdateProvider(ctx, p); conncred.ErrorCode(err) != conncred.ENotFound {
		t.Errorf("update after delete: got %v, want %s", err, conncred.ENotFound)
	}
	if err := ws.DeleteProvider(ctx, p.ID, at(3*time.Hour)); conncred.ErrorCode(err) != conncred.ENotFound {
		t.Errorf("second delete: got %v, want %s", err, conncred.ENotFound)
	}
	if list, _ = ws.ListProviders(ctx, conncred.ListOptions{}); len(list) != 1 || list[0].ID != other.ID {
		t.Errorf("list after delete: got %d providers, want only %s", len(list), other.ID)
	}
}

// testWfeProviderWithTrusts: a provider a live trust references is kept
// (EConflict); once the trust is deleted it can go.
func testWfeProviderWithTrusts(t *testing.T, s conncred.Store) {
	ws := wfeStore(t, s)
	ctx := t.Context()
	p := newProvider(t, ws)
	a := newApp(t, s)
	c := newConnector(t, s, a.ID)
	tr := newTrust(t, s, &c)
	must(t, ws.SetTrustExtra(ctx, tr.ID, wfedb.TrustExtra{ProviderID: p.ID}, at(0)))
	if err := ws.DeleteProvider(ctx, p.ID, at(time.Hour)); conncred.ErrorCode(err) != conncred.EConflict {
		t.Fatalf("delete with a live trust: got %v, want %s", err, conncred.EConflict)
	}
	if _, err := ws.GetProvider(ctx, p.ID); err != nil {
		t.Errorf("the refused delete changed the provider: %v", err)
	}
	_, err := trustStore(t, s).DeleteTrust(ctx, tr.ID, at(time.Hour))
	must(t, err)
	must(t, ws.DeleteProvider(ctx, p.ID, at(2*time.Hour)))
}

// testWfeTrustExtra: none reads as the zero value; set replaces; an admin
// trust (no provider) stores an empty provider id.
func testWfeTrustExtra(t *testing.T, s conncred.Store) {
	ws := wfeStore(t, s)
	ctx := t.Context()
	tr := newTrust(t, s, nil)
	got, err := ws.TrustExtra(ctx, tr.ID)
	must(t, err)
	if got != (wfedb.TrustExtra{}) {
		t.Errorf("no extra: got %+v, want the zero value", got)
	}
	p := newProvider(t, ws)
	for _, want := range []wfedb.TrustExtra{{ProviderID: p.ID, Description: "main branch"}, {Description: "no provider"}, {}} {
		must(t, ws.SetTrustExtra(ctx, tr.ID, want, at(time.Minute)))
		if got, err = ws.TrustExtra(ctx, tr.ID); err != nil || got != want {
			t.Errorf("set %+v: read %+v, %v", want, got, err)
		}
	}
	if got, _ := ws.GetTrustByClientID(ctx, tr.ClientID); got.ID != tr.ID {
		t.Errorf("GetTrustByClientID: got %q, want %q", got.ID, tr.ID)
	}
}
