package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/lifecycle"
	"github.com/conncred/conncred/policy"
)

func TestValidateRefusesWhatCannotBeMeant(t *testing.T) {
	tests := []struct {
		name string
		p    policy.Policy
		want string // in the message
	}{
		{"negative lifetime", policy.Policy{MaxLifetime: dur(-day)}, "maxLifetime must not be negative"},
		{"lifetime in seconds", policy.Policy{MaxLifetime: dur(90 * time.Second)}, "maxLifetime of 1m30s is too short; use at least 1h0m0s"},
		{"absurd lifetime", policy.Policy{MaxLifetime: dur(20 * 366 * day)}, "longer than ten years"},
		{"negative warning", policy.Policy{ExpiryWarnings: &[]time.Duration{day, -day}}, "expiryWarnings[1] must not be negative"},
		{"zero warning", policy.Policy{ExpiryWarnings: &[]time.Duration{0}}, "expiryWarnings[0] is 0"},
		{"too many warnings", policy.Policy{ExpiryWarnings: &[]time.Duration{1 * day, 2 * day, 3 * day, 4 * day, 5 * day, 6 * day, 7 * day, 8 * day, 9 * day}}, "at most 8"},
		{"negative dormancy", policy.Policy{DormancyThreshold: dur(-time.Hour)}, "dormancyThreshold must not be negative"},
		{"absurd auto-revoke", policy.Policy{AutoRevokeAfter: dur(100 * 366 * day)}, "autoRevokeAfter of"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Validate()
			if got := conncred.ErrorCode(err); got != conncred.EInvalid {
				t.Fatalf("code: got %q (%v), want %q", got, err, conncred.EInvalid)
			}
			if got := conncred.ErrorMessage(err); !strings.Contains(got, tc.want) {
				t.Errorf("message: got %q, want it to contain %q", got, tc.want)
			}
		})
	}
	ok := policy.Policy{MaxLifetime: dur(0), ExpiryWarnings: &[]time.Duration{}, DormancyThreshold: dur(30 * day), AutoRevokeAfter: dur(90 * day)}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(%s): %v", policy.Describe(ok), err)
	}
}

// TestNearestScopeWinsFieldByField: connector, then app, then the stored
// server default, then the serve flags, each field on its own.
func TestNearestScopeWinsFieldByField(t *testing.T) {
	f := newFixture(t, policy.Config{Defaults: policy.Policy{MaxLifetime: dur(365 * day), ExpiryWarnings: &[]time.Duration{7 * day}}})
	c := f.connector(t)
	other := f.connector(t)
	f.set(t, policy.Scope{Kind: policy.ScopeServer}, policy.Policy{DormancyThreshold: dur(60 * day)})
	f.set(t, policy.Scope{Kind: policy.ScopeApp, ID: c.AppID}, policy.Policy{MaxLifetime: dur(90 * day), DormancyThreshold: dur(30 * day)})
	f.set(t, policy.Scope{Kind: policy.ScopeConnector, ID: c.ID}, policy.Policy{ExpiryWarnings: &[]time.Duration{day, 14 * day}})

	tests := []struct {
		name              string
		conn              conncred.Connector
		life, dormant     time.Duration
		warnings          string
		lifeFrom, dormFrm string
	}{
		{"connector", c, 90 * day, 30 * day, "[336h0m0s,24h0m0s]", "app", "app"},
		{"other app", other, 365 * day, 60 * day, "[168h0m0s]", "", "server"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := f.svc.ConnectorPolicy(f.admin, tc.conn.AppID, tc.conn.ID)
			if err != nil {
				t.Fatal(err)
			}
			if e.MaxLifetime != tc.life || e.DormancyThreshold != tc.dormant {
				t.Errorf("maxLifetime, dormancy: got %s, %s, want %s, %s", e.MaxLifetime, e.DormancyThreshold, tc.life, tc.dormant)
			}
			if got := fmtDurations(e.ExpiryWarnings); got != tc.warnings {
				t.Errorf("expiryWarnings: got %s, want %s (longest first)", got, tc.warnings)
			}
			if got := e.From[policy.FieldMaxLifetime].Kind; got != tc.lifeFrom {
				t.Errorf("maxLifetime from: got %q, want %q", got, tc.lifeFrom)
			}
			if got := e.From[policy.FieldDormancyThreshold].Kind; got != tc.dormFrm {
				t.Errorf("dormancyThreshold from: got %q, want %q", got, tc.dormFrm)
			}
		})
	}
}

func fmtDurations(ds []time.Duration) string {
	var s []string
	for _, d := range ds {
		s = append(s, d.String())
	}
	return "[" + strings.Join(s, ",") + "]"
}

func TestSetRefusesAndChangesNothing(t *testing.T) {
	f := newFixture(t, policy.Config{})
	c := f.connector(t)
	f.set(t, policy.Scope{Kind: policy.ScopeApp, ID: c.AppID}, policy.Policy{DormancyThreshold: dur(30 * day)})
	tests := []struct {
		name string
		u    policy.Update
		code string
		want string
	}{
		{"auto-revoke before dormancy (inherited)", policy.Update{Scope: policy.Scope{Kind: policy.ScopeConnector, ID: c.ID}, Policy: policy.Policy{AutoRevokeAfter: dur(10 * day)}},
			conncred.EInvalid, "autoRevokeAfter (10d) must be longer than dormancyThreshold (30d)"},
		{"negative", policy.Update{Scope: policy.Scope{Kind: policy.ScopeServer}, Policy: policy.Policy{MaxLifetime: dur(-1)}}, conncred.EInvalid, "must not be negative"},
		{"unknown mask field", policy.Update{Scope: policy.Scope{Kind: policy.ScopeServer}, Mask: []string{"maxLifeTime"}}, conncred.EInvalid, `"maxLifeTime" is not a policy field`},
		{"unknown connector", policy.Update{Scope: policy.Scope{Kind: policy.ScopeConnector, ID: "2HErg7BRmNdHgX8sTCWVq4E1fyh"}}, conncred.ENotFound, "connector"},
		{"connector of another app", policy.Update{Scope: policy.Scope{Kind: policy.ScopeConnector, ID: c.ID, AppID: "2HErg7BRmNdHgX8sTCWVq4E1fyh"}}, conncred.ENotFound, "connector"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Set(f.admin, tc.u)
			if got := conncred.ErrorCode(err); got != tc.code {
				t.Fatalf("code: got %q (%v), want %q", got, err, tc.code)
			}
			if got := conncred.ErrorMessage(err); !strings.Contains(got, tc.want) {
				t.Errorf("message: got %q, want it to contain %q", got, tc.want)
			}
		})
	}
	v, err := f.svc.Get(f.admin, policy.Scope{Kind: policy.ScopeConnector, ID: c.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !v.Set.Empty() {
		t.Errorf("connector policy after refusals: got %s, want none", policy.Describe(v.Set))
	}
	// A connector credential cannot read or set policies.
	conn := conncred.WithPrincipal(t.Context(), &conncred.Principal{Kind: conncred.KindConnector, AppID: c.AppID, ConnectorID: c.ID})
	if _, err := f.svc.Get(conn, policy.Scope{Kind: policy.ScopeServer}); conncred.ErrorCode(err) != conncred.EPermissionDenied {
		t.Errorf("Get by a connector: got %v, want permission denied", err)
	}
}

// TestSetWithMaskAndAudit: a masked update changes only its fields, and
// every change is an audit event that says what the scope now sets.
func TestSetWithMaskAndAudit(t *testing.T) {
	f := newFixture(t, policy.Config{})
	sc := policy.Scope{Kind: policy.ScopeServer}
	f.set(t, sc, policy.Policy{MaxLifetime: dur(90 * day), DormancyThreshold: dur(30 * day)})
	v, err := f.svc.Set(f.admin, policy.Update{Scope: sc, Policy: policy.Policy{ExpiryWarnings: &[]time.Duration{14 * day}}, Mask: []string{policy.FieldExpiryWarnings, policy.FieldDormancyThreshold}})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := policy.Describe(v.Set), "maxLifetime=90d expiryWarnings=[14d]"; got != want {
		t.Errorf("after a masked update: got %s, want %s", got, want)
	}
	f.auth.Flush(t.Context())
	evs, err := f.store.ListAudit(t.Context(), conncred.AuditFilter{Kind: policy.AuditPolicyChanged})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[1].Reason != "the server default: maxLifetime=90d expiryWarnings=[14d]" || evs[1].Actor != "system" {
		t.Errorf("policy.changed events: got %+v, want 2, the last naming what the server default sets", evs)
	}
}

// TestMaxLifetimeOnEveryRotatePath: the connector's policy caps the admin
// rotate, the overlap rotation and the self-rotation, with a 400 that
// names the limit, and is the lifetime of a credential that asks none.
func TestMaxLifetimeOnEveryRotatePath(t *testing.T) {
	f := newFixture(t, policy.Config{Defaults: policy.Policy{MaxLifetime: dur(365 * day)}})
	c := f.connector(t)
	free := f.connector(t)
	f.set(t, policy.Scope{Kind: policy.ScopeConnector, ID: c.ID}, policy.Policy{MaxLifetime: dur(30 * day)})
	lc := lifecycle.New(lifecycle.Config{}, f.auth, f.store, f.clock)

	cr := f.rotate(t, c, 0)
	if cr.ExpiresAt == nil || !cr.ExpiresAt.Equal(f.clock.Now().Add(30*day)) {
		t.Errorf("rotate without an expiry: expiresTime %v, want now + 30d", cr.ExpiresAt)
	}
	if got := f.rotate(t, free, 200*day); !got.ExpiresAt.Equal(f.clock.Now().Add(200 * day)) {
		t.Errorf("other connector: expiresTime %v, want now + 200d (under the server default)", got.ExpiresAt)
	}
	self := conncred.WithPrincipal(t.Context(), &conncred.Principal{Kind: conncred.KindConnector, AppID: c.AppID, ConnectorID: c.ID, CredentialID: cr.ID})
	paths := []struct {
		name string
		do   func() error
	}{
		{"admin rotate", func() error {
			_, _, err := f.auth.RotateCredential(f.admin, c.AppID, c.ID, authority.CredentialOptions{Expires: 31 * day})
			return err
		}},
		{"overlap rotation", func() error {
			_, err := lc.Rotate(f.admin, lifecycle.RotateRequest{AppID: c.AppID, ConnectorID: c.ID, RetirePreviousAfter: time.Hour,
				Options: lifecycle.CredentialOptions{ExpiresTime: ptrTime(f.clock.Now().Add(40 * day))}})
			return err
		}},
		{"self-rotation", func() error {
			_, err := lc.SelfRotate(self, lifecycle.SelfRotateRequest{Options: lifecycle.CredentialOptions{Expires: 60 * day}})
			return err
		}},
		{"server default", func() error {
			_, _, err := f.auth.RotateCredential(f.admin, free.AppID, free.ID, authority.CredentialOptions{Expires: 366 * day})
			return err
		}},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			err := p.do()
			if got := conncred.ErrorCode(err); got != conncred.EInvalid {
				t.Fatalf("code: got %q (%v), want %q", got, err, conncred.EInvalid)
			}
			want := "the policy of connector " + c.ID + " of 720h; ask for 720h or less"
			if p.name == "server default" {
				want = "this server's default policy of 8760h"
			}
			if got := conncred.ErrorMessage(err); !strings.Contains(got, want) {
				t.Errorf("message: got %q, want it to contain %q", got, want)
			}
		})
	}
}

func ptrTime(t time.Time) *time.Time { return &t }

// TestGraceCappedByPolicy: a rotate's grace (the admin's
// retirePreviousAfter, a self-rotation's grace) may not exceed the
// connector's maximum credential lifetime: the retiring credential would
// outlive any new one. The refusal names the limit and changes nothing.
func TestGraceCappedByPolicy(t *testing.T) {
	f := newFixture(t, policy.Config{})
	c := f.connector(t)
	f.set(t, policy.Scope{Kind: policy.ScopeApp, ID: c.AppID}, policy.Policy{MaxLifetime: dur(2 * day)})
	lc := lifecycle.New(lifecycle.Config{}, f.auth, f.store, f.clock)
	lc.SetLifetimeLimiter(f.svc)
	cr := f.rotate(t, c, 0)
	spare := f.rotate(t, c, 0) // expires in 48h
	self := conncred.WithPrincipal(t.Context(), &conncred.Principal{Kind: conncred.KindConnector, AppID: c.AppID, ConnectorID: c.ID, CredentialID: cr.ID})
	count := func() int {
		cs, err := f.store.ListCredentials(t.Context(), conncred.CredentialFilter{ConnectorID: c.ID})
		if err != nil {
			t.Fatal(err)
		}
		return len(cs)
	}
	before := count()
	for name, do := range map[string]func() error{
		"overlap rotation": func() error {
			_, err := lc.Rotate(f.admin, lifecycle.RotateRequest{AppID: c.AppID, ConnectorID: c.ID, RetirePreviousAfter: 3 * day})
			return err
		},
		"self-rotation": func() error {
			_, err := lc.SelfRotate(self, lifecycle.SelfRotateRequest{Grace: 3 * day})
			return err
		},
	} {
		err := do()
		if conncred.ErrorCode(err) != conncred.EInvalid || !strings.Contains(conncred.ErrorMessage(err), "the policy of app "+c.AppID+" allows a credential of this connector to live (48h0m0s)") {
			t.Errorf("%s with a 72h grace under a 48h policy: %v, want a 400 naming the policy", name, err)
		}
	}
	if got := count(); got != before {
		t.Errorf("credentials after refused rotates: %d, want %d", got, before)
	}
	if _, err := lc.SelfRotate(self, lifecycle.SelfRotateRequest{Grace: day}); err != nil {
		t.Errorf("self-rotation with a 24h grace under a 48h policy: %v", err)
	}
	// The default grace (24h) is the server's, not the caller's: under a
	// tighter policy it shrinks to the policy's maximum.
	f.set(t, policy.Scope{Kind: policy.ScopeConnector, ID: c.ID}, policy.Policy{MaxLifetime: dur(12 * time.Hour)})
	self = conncred.WithPrincipal(t.Context(), &conncred.Principal{Kind: conncred.KindConnector, AppID: c.AppID, ConnectorID: c.ID, CredentialID: spare.ID})
	r, err := lc.SelfRotate(self, lifecycle.SelfRotateRequest{})
	if err != nil {
		t.Fatalf("self-rotation with the default grace under a 12h policy: %v", err)
	}
	if len(r.Retired) != 1 || !r.Retired[0].ExpiresAt.Equal(f.clock.Now().Add(12*time.Hour)) {
		t.Errorf("retired %+v, want %s expiring in 12h (the policy's maximum, not the 24h default)", r.Retired, spare.ID)
	}
}
