package storetest

import (
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/dpop"
)

// dpopTests pin dpop.Store, the per-credential "require DPoP" flag.
var dpopTests = []test{
	{"DefaultOff", testDPoPDefaultOff},
	{"SetAndClear", testDPoPSetAndClear},
	{"MissingOrRevoked", testDPoPMissingOrRevoked},
}

func dpopStore(t testing.TB, s conncred.Store) dpop.Store {
	t.Helper()
	ds, ok := s.(dpop.Store)
	if !ok {
		t.Fatalf("%T does not implement dpop.Store", s)
	}
	return ds
}

func testDPoPDefaultOff(t *testing.T, s conncred.Store) {
	ds := dpopStore(t, s)
	cr := newCredential(t, s, nil)
	got, err := ds.CredentialDPoP(t.Context(), cr.ID)
	must(t, err)
	if got {
		t.Errorf("CredentialDPoP of a new credential = true, want false")
	}
}

func testDPoPSetAndClear(t *testing.T, s conncred.Store) {
	ds := dpopStore(t, s)
	c := newConnector(t, s, newApp(t, s).ID)
	cr := newCredential(t, s, &c)
	other := newCredential(t, s, &c)
	for i, want := range []bool{true, false, true} {
		when := at(time.Duration(i+1) * time.Minute)
		must(t, ds.SetCredentialDPoP(t.Context(), cr.ID, want, when))
		got, err := ds.CredentialDPoP(t.Context(), cr.ID)
		must(t, err)
		if got != want {
			t.Errorf("after SetCredentialDPoP(%v): CredentialDPoP = %v, want %v", want, got, want)
		}
		if got, want := getCredential(t, s, cr.ID).UpdatedAt, when; !got.Equal(want) {
			t.Errorf("UpdatedAt = %s, want %s", got, want)
		}
	}
	if got, err := ds.CredentialDPoP(t.Context(), other.ID); err != nil || got {
		t.Errorf("another credential's flag = %v, %v; want false, nil", got, err)
	}
}

func testDPoPMissingOrRevoked(t *testing.T, s conncred.Store) {
	ds := dpopStore(t, s)
	wantCode(t, ds.SetCredentialDPoP(t.Context(), newID(), true, at(time.Minute)), conncred.ENotFound)
	_, err := ds.CredentialDPoP(t.Context(), newID())
	wantCode(t, err, conncred.ENotFound)
	cr := newCredential(t, s, nil)
	_, err = s.RevokeCredential(t.Context(), cr.ID, at(time.Minute))
	must(t, err)
	wantCode(t, ds.SetCredentialDPoP(t.Context(), cr.ID, true, at(2*time.Minute)), conncred.ENotFound)
}
