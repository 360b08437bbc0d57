package policy_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/policy"
)

// summary lists events as "kind credential +offset", sorted.
func summary(evs []conncred.AuditEvent, names map[string]string) []string {
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%s %s +%s", e.Kind, names[e.CredentialID], policy.FormatDuration(e.Time.Sub(t0))))
	}
	slices.Sort(out)
	return out
}

func wantEvents(t *testing.T, got, want []string) {
	t.Helper()
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("events:\n got %q\nwant %q", got, want)
	}
}

// TestDownServerCatchesUpOnceOnStart: thresholds that passed while no
// scheduler ran are recorded by the first pass after the start, once; a
// second restart records nothing again.
func TestDownServerCatchesUpOnceOnStart(t *testing.T) {
	cfg := policy.Config{Interval: time.Hour, Defaults: policy.Policy{ExpiryWarnings: &[]time.Duration{14 * day, day}, DormancyThreshold: dur(7 * day)}}
	f := newFixture(t, cfg)
	c := f.connector(t)
	soon := f.rotate(t, c, 30*day)
	gone := f.rotate(t, c, 20*day)
	names := map[string]string{soon.ID: "soon", gone.ID: "gone"}
	next, stop := f.runLoop(t)
	next() // the pass at start: nothing is due yet
	stop()

	// Down from +0 to +29d12h: the 14d and the 1d warnings of soon
	// passed, gone expired, and soon went dormant.
	f.clock.Set(t0.Add(29*day + 12*time.Hour))
	f.start(t, cfg)
	next, stop = f.runLoop(t)
	next()
	stop()
	got := summary(f.events(t), names)
	wantEvents(t, got, []string{
		"credential.expiring soon +708h0m0s",
		"credential.dormant soon +708h0m0s",
		"credential.expired gone +708h0m0s",
	})
	for _, e := range f.events(t) {
		if want := "(warning 1d ahead)"; e.Kind == policy.AuditExpiring && !strings.Contains(e.Reason, want) {
			t.Errorf("expiring reason %q: want the latest warning that passed, %s", e.Reason, want)
		}
	}

	// Another restart, and a tick later: nothing new.
	f.start(t, cfg)
	next, _ = f.runLoop(t)
	next()
	f.clock.Advance(time.Hour)
	next()
	if again := summary(f.events(t), names); !slices.Equal(again, got) {
		t.Errorf("after another restart: got %q, want still %q", again, got)
	}
	if n := f.obs.emitted[policy.AuditExpiring]; n != 0 {
		t.Errorf("events emitted by the last start: got %d expiring, want 0", n)
	}
}

// TestYearOfSimulatedTime drives the scheduler's own loop on the fake
// clock, a tick every 12h through 366 days, over credentials of several
// lifetimes and habits, and checks every event and when it came.
func TestYearOfSimulatedTime(t *testing.T) {
	const tick = 12 * time.Hour
	cfg := policy.Config{Interval: tick, Defaults: policy.Policy{
		ExpiryWarnings: &[]time.Duration{14 * day, day}, DormancyThreshold: dur(30 * day), AutoRevokeAfter: dur(90 * day)}}
	f := newFixture(t, cfg)
	c := f.connector(t)
	type cred struct {
		name     string
		lifetime time.Duration
		used     func(at time.Duration) bool // exchanges tokens at this offset
	}
	always := func(time.Duration) bool { return true }
	never := func(time.Duration) bool { return false }
	creds := []cred{
		{"A7d", 7 * day, always},
		{"B30d", 30 * day, always},
		{"C90d", 90 * day, always},
		{"D365d", 365 * day, always},
		{"Enone", 0, always},
		{"Fidle", 0, never},
		{"G400d", 400 * day, never},
		{"Hstops", 0, func(at time.Duration) bool { return at <= 10*day }},
		{"Ipauses", 0, func(at time.Duration) bool { return at <= 50*day || at >= 90*day }},
	}
	names := map[string]string{}
	ids := make([]string, len(creds))
	for i, cr := range creds {
		ids[i] = f.rotate(t, c, cr.lifetime).ID
		names[ids[i]] = cr.name
	}
	next, _ := f.runLoop(t)
	next()
	passes := 1
	for now := time.Duration(0); now < 366*day; now += tick {
		var uses []conncred.CredentialUse
		for i, cr := range creds {
			if cr.used(now) {
				uses = append(uses, conncred.CredentialUse{ID: ids[i], At: t0.Add(now)})
			}
		}
		if err := f.store.TouchCredentials(t.Context(), uses); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(tick)
		next()
		passes++
	}
	d := func(n int) string { return policy.FormatDuration(time.Duration(n) * day) }
	want := []string{
		"credential.expiring A7d +" + d(6), "credential.expired A7d +" + d(7),
		"credential.expiring B30d +" + d(16), "credential.expiring B30d +" + d(29), "credential.expired B30d +" + d(30),
		"credential.expiring C90d +" + d(76), "credential.expiring C90d +" + d(89), "credential.expired C90d +" + d(90),
		"credential.expiring D365d +" + d(351), "credential.expiring D365d +" + d(364), "credential.expired D365d +" + d(365),
		"credential.dormant Fidle +" + d(30), "credential.auto_revoked Fidle +" + d(90), "credential.revoked Fidle +" + d(90),
		"credential.dormant G400d +" + d(30), "credential.auto_revoked G400d +" + d(90), "credential.revoked G400d +" + d(90),
		"credential.dormant Hstops +" + d(40), "credential.auto_revoked Hstops +" + d(100), "credential.revoked Hstops +" + d(100),
		"credential.dormant Ipauses +" + d(80),
	}
	evs := f.events(t)
	wantEvents(t, summary(evs, names), want)
	for _, e := range evs {
		if e.Kind == "credential.revoked" && (e.Reason != policy.ReasonDormant || e.Actor != "system") {
			t.Errorf("revocation of %s: reason %q by %q, want %q by system", names[e.CredentialID], e.Reason, e.Actor, policy.ReasonDormant)
		}
	}
	t.Logf("%d passes over %d credentials, %d events", passes, len(creds), len(evs))
}
