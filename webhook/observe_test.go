package webhook_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/webhook"
)

const refusedRevoked = "the credential is revoked"

// trustIssued is the token.issued audit event package federation records
// for an exchange through a trust.
func trustIssued(at time.Time, subject string) conncred.AuditEvent {
	return conncred.AuditEvent{Kind: "token.issued", Time: at, Actor: "quiet-owl-1@127.0.0.1:8443/wfe", CredentialID: "trust1",
		AppID: "app1", ConnectorID: "conn1", Source: "192.0.2.7:51000", Outcome: "success", Reason: "workload " + subject}
}

// TestTrustUsedOncePerWindow: many exchanges through a trust, on two nodes,
// are one trust.used per trust and window, naming the first workload's
// subject; a credential's own exchanges and failures are not trust uses;
// nothing is enqueued while no endpoint exists.
func TestTrustUsedOncePerWindow(t *testing.T) {
	f := newFixture(t)
	a, b := f.service("a", webhook.Config{}), f.service("b", webhook.Config{})
	ctx := admin(t.Context())
	rc := newReceiver(t)

	// Before any endpoint: nothing is kept.
	a.AuditSink(refusedRevoked)(trustIssued(f.clk.Now(), "repo:acme/early:ref:refs/heads/main"))
	_, sec, err := a.Create(ctx, webhook.CreateInput{URL: rc.srv.URL, EventTypes: []string{webhook.EventTrustUsed, webhook.EventCredentialUsedRevoked}})
	must(t, err)
	rc.key, _ = webhook.ParseSecret(sec.Reveal())
	f.clk.Advance(time.Hour) // the next window: "early" was before the endpoint

	for i, sink := range []func(conncred.AuditEvent){a.AuditSink(refusedRevoked), b.AuditSink(refusedRevoked), a.AuditSink(refusedRevoked)} {
		f.clk.Advance(time.Minute)
		sink(trustIssued(f.clk.Now(), "repo:acme/connectors:ref:refs/heads/main"+strings.Repeat("!", i)))
	}
	// Not trust uses: a credential's exchange, a refusal through a trust.
	own := trustIssued(f.clk.Now(), "x")
	own.Actor, own.Reason = "brave-falcon-1@127.0.0.1:8443/ccc", ""
	a.AuditSink(refusedRevoked)(own)
	refused := trustIssued(f.clk.Now(), "x")
	refused.Kind, refused.Outcome, refused.Reason = "token.refused", "failure", "condition is false"
	a.AuditSink(refusedRevoked)(refused)
	// A stale connector retrying with a revoked credential, on both nodes.
	for _, sink := range []func(conncred.AuditEvent){a.AuditSink(refusedRevoked), b.AuditSink(refusedRevoked)} {
		sink(conncred.AuditEvent{Kind: "token.refused", Time: f.clk.Now(), CredentialID: "cred1", Source: "192.0.2.8:1", Outcome: "failure", Reason: refusedRevoked})
	}
	f.clk.Advance(time.Hour)
	a.AuditSink(refusedRevoked)(trustIssued(f.clk.Now(), "repo:acme/next:ref:refs/heads/main"))

	run(t, a)
	got := rc.deliveries()
	var subjects []string
	usedRevoked := 0
	for _, d := range got {
		if !d.Valid {
			t.Errorf("delivery %s does not verify", d.ID)
		}
		switch d.Type {
		case webhook.EventTrustUsed:
			var td webhook.TrustUseData
			must(t, json.Unmarshal(d.Data, &td))
			if td.TrustID != "trust1" || td.Role != "connector" || td.ConnectorID != "conn1" || td.Source != "192.0.2.7" {
				t.Errorf("trust.used data: %+v", td)
			}
			subjects = append(subjects, td.Subject)
		case webhook.EventCredentialUsedRevoked:
			usedRevoked++
		default:
			t.Errorf("unexpected delivery %s", d.Type)
		}
	}
	slices.Sort(subjects) // delivered concurrently, in any order
	want := []string{"repo:acme/connectors:ref:refs/heads/main", "repo:acme/next:ref:refs/heads/main"}
	if strings.Join(subjects, "|") != strings.Join(want, "|") {
		t.Errorf("trust.used subjects: got %q, want %q (one per window, the first workload of each)", subjects, want)
	}
	if usedRevoked != 1 {
		t.Errorf("credential.used_after_revocation: got %d, want 1 for two nodes in one window", usedRevoked)
	}
}
