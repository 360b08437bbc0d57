package authority

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/secret"
)

func TestAuditTrail(t *testing.T) {
	f := newFixture(t, Config{})
	var streamed []conncred.AuditEvent
	var mu sync.Mutex
	f.a.audit.sink = func(e conncred.AuditEvent) { mu.Lock(); streamed = append(streamed, e); mu.Unlock() }
	ctx := conncred.WithSource(context.Background(), "192.0.2.7:5000")
	admin := conncred.WithPrincipal(ctx, conncred.System)
	conn := f.connector(t)
	cred, s, _ := f.a.RotateCredential(admin, conn.AppID, conn.ID, CredentialOptions{})
	priv, _ := secret.Parse(s.Reveal())
	// Three tokens in one minute fold into one record with count 3.
	for i := 0; i < 3; i++ {
		f.clock.Advance(time.Second)
		if _, err := f.a.Exchange(ctx, tokenReq(cred.ClientID, officialAssertion(cred.ClientID, "127.0.0.1", f.clock.Now()).sign(t, priv))); err != nil {
			t.Fatal(err)
		}
	}
	replayed := officialAssertion(cred.ClientID, "127.0.0.1", f.clock.Now()).sign(t, priv)
	f.a.Exchange(ctx, tokenReq(cred.ClientID, replayed))
	f.a.Exchange(ctx, tokenReq(cred.ClientID, replayed))
	if _, err := f.a.RevokeCredential(admin, conn.AppID, conn.ID, cred.ID); err != nil {
		t.Fatal(err)
	}
	f.a.Exchange(ctx, tokenReq(cred.ClientID, officialAssertion(cred.ClientID, "127.0.0.1", f.clock.Now()).sign(t, priv)))
	if _, err := f.a.RotateSigningKey(admin); err != nil {
		t.Fatal(err)
	}
	f.a.audit.flushAll(context.Background(), f.clock.Now())

	events, _, err := f.a.ListAudit(admin, AuditQuery{CredentialID: cred.ID})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]conncred.AuditEvent{}
	for _, e := range events {
		got[e.Kind+"/"+e.Reason] = e
		if e.CredentialID != cred.ID || e.Time.IsZero() || e.ID == "" {
			t.Errorf("incomplete event %+v", e)
		}
	}
	if e := got["credential.created/"]; e.Actor != "system" || e.Source != "192.0.2.7:5000" || e.Outcome != "success" {
		t.Errorf("credential.created: %+v", e)
	}
	if e := got["token.issued/"]; e.Count != 3 || e.Source != "192.0.2.7" {
		t.Errorf("token.issued: count %d source %q, want 3 from 192.0.2.7", e.Count, e.Source)
	}
	// The test's nonce comes from the clock, so both sends of the last
	// assertion repeat the third exchange's nonce: two replays, one record.
	if e, ok := got["token.refused/this client_assertion has already been used; sign a new assertion (with a fresh nonce) for every token request"]; !ok || e.Outcome != "failure" || e.Actor != cred.ClientID || e.Count != 2 {
		t.Errorf("replay refusal not recorded: %+v", events)
	}
	if _, ok := got["token.refused/this credential has been revoked"]; !ok {
		t.Errorf("revoked-credential use not recorded: %+v", events)
	}
	if _, ok := got["credential.revoked/"]; !ok {
		t.Errorf("revoke not recorded")
	}
	all, _, _ := f.a.ListAudit(admin, AuditQuery{Kind: "signing_key.rotated"})
	if len(all) != 1 {
		t.Errorf("signing key rotation: %d events", len(all))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(streamed) < 8 {
		t.Errorf("only %d events streamed to the sink", len(streamed))
	}
}

// TestRevokeAndRotateStorm races rotates and revokes on one connector and
// one credential: the cap is never exceeded, every revoke sticks, and no
// revoked credential comes back.
func TestRevokeAndRotateStorm(t *testing.T) {
	f := newFixture(t, Config{MaxActiveCredentials: 5})
	conn := f.connector(t)
	target, _, _ := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var revoked []string
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 8; j++ {
				switch (i + j) % 3 {
				case 0:
					c, _, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
					if err == nil && j%2 == 0 {
						if _, err := f.a.RevokeCredential(f.admin, conn.AppID, conn.ID, c.ID); err == nil {
							mu.Lock()
							revoked = append(revoked, c.ID)
							mu.Unlock()
						}
					} else if err != nil && conncred.ErrorCode(err) != conncred.EConflict {
						t.Errorf("rotate: %v", err)
					}
				case 1:
					if _, err := f.a.RevokeCredential(f.admin, conn.AppID, conn.ID, target.ID); err != nil {
						t.Errorf("revoke: %v", err)
					}
				default:
					now := f.a.now()
					n, err := f.store.CountCredentials(context.Background(), conncred.CredentialFilter{ConnectorID: conn.ID, UsableAt: &now})
					if err != nil || n > 5 {
						t.Errorf("%d usable credentials (cap 5), %v", n, err)
					}
				}
			}
		}(i)
	}
	wg.Wait()
	for _, id := range append(revoked, target.ID) {
		c, err := f.store.GetCredential(context.Background(), id)
		if err != nil || c.DeletedAt == nil {
			t.Fatalf("revoked credential %s is not revoked: %+v %v", id, c.DeletedAt, err)
		}
	}
}

// auditCapture keeps what the auditor writes. It is only an auditAppender:
// the auditor needs no other Store method.
type auditCapture struct {
	mu     sync.Mutex
	events []conncred.AuditEvent
}

func (c *auditCapture) AppendAudit(_ context.Context, events []conncred.AuditEvent) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events = append(c.events, events...)
	return nil
}

// TestAuditCountsFoldAndOverflow: token events from one client's many
// connections fold into one record per minute under its IP, and when a
// flood of distinct credentials fills the buffer every further event is
// still counted, in an overflow record, never dropped.
func TestAuditCountsFoldAndOverflow(t *testing.T) {
	capture := &auditCapture{}
	au := newAuditor(capture, slog.New(slog.DiscardHandler), nil)
	au.limit = 3
	at := time.Date(2026, 11, 29, 10, 0, 5, 0, time.UTC)
	issued := func(cred, source string) {
		au.add(conncred.AuditEvent{Kind: AuditTokenIssued, Time: at, CredentialID: cred, Actor: cred + "@h/ccc", Source: source, Outcome: "success", Count: 1})
	}
	for port := range 50 {
		issued("c1", fmt.Sprintf("192.0.2.7:%d", 40000+port))
	}
	issued("c1", "[2001:db8::7]:443")
	for i := range 20 { // 20 more credentials into a buffer of 3 records
		issued(fmt.Sprintf("c%d", i+2), "192.0.2.8:1")
	}
	au.flushAll(context.Background(), at)

	total := 0
	bySource := map[string]int{}
	for _, e := range capture.events {
		total += e.Count
		bySource[e.CredentialID+" "+e.Source+" "+e.Actor] += e.Count
	}
	if total != 71 {
		t.Errorf("%d token events counted in %d records, want all 71: %+v", total, len(capture.events), capture.events)
	}
	if n := bySource["c1 192.0.2.7 c1@h/ccc"]; n != 50 {
		t.Errorf("50 events from one IP on 50 ports: %d in its record; records %v", n, bySource)
	}
	if n := bySource["c1 2001:db8::7 c1@h/ccc"]; n != 1 {
		t.Errorf("the IPv6 client: %v", bySource)
	}
	if n := bySource["  (overflow)"]; n != 19 || len(capture.events) != 4 {
		t.Errorf("overflow: %d events in it, %d records; want 19 in one of 4 records: %v", n, len(capture.events), bySource)
	}
}

// streamSink collects the events streamed to the audit sink.
type streamSink struct {
	mu     sync.Mutex
	events []conncred.AuditEvent
}

func (s *streamSink) add(e conncred.AuditEvent) {
	s.mu.Lock()
	s.events = append(s.events, e)
	s.mu.Unlock()
}

func (s *streamSink) all() []conncred.AuditEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]conncred.AuditEvent(nil), s.events...)
}

// TestAuditStreamCarriesStoredIDs: every streamed line has the id the
// store keeps, so --audit-log lines and GET /api/v1/audit can be matched;
// token events stream with the id of the counted record they fold into.
func TestAuditStreamCarriesStoredIDs(t *testing.T) {
	f := newFixture(t, Config{})
	sink := &streamSink{}
	f.a.audit.sink = sink.add
	conn := f.connector(t)
	cred, s, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := secret.Parse(s.Reveal())
	for range 2 {
		f.clock.Advance(time.Second)
		if _, err := f.a.Exchange(context.Background(), tokenReq(cred.ClientID, officialAssertion(cred.ClientID, "127.0.0.1", f.clock.Now()).sign(t, priv))); err != nil {
			t.Fatal(err)
		}
	}
	f.a.audit.flushAll(context.Background(), f.clock.Now())
	stored, _, err := f.a.ListAudit(f.admin, AuditQuery{Page: PageRequest{Size: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{} // id -> kind, as stored
	for _, e := range stored {
		kinds[e.ID] = e.Kind
	}
	streamed := sink.all()
	if len(streamed) != 5 { // app, connector, credential, 2 tokens
		t.Fatalf("got %d streamed events, want 5: %+v", len(streamed), streamed)
	}
	for _, e := range streamed {
		if e.ID == "" {
			t.Errorf("streamed %s without an id", e.Kind)
		} else if got := kinds[e.ID]; got != e.Kind {
			t.Errorf("streamed %s with id %s; the store has %q under that id", e.Kind, e.ID, got)
		}
	}
	if streamed[3].ID != streamed[4].ID {
		t.Errorf("two exchanges in one minute: ids %s and %s, want the one counted record's", streamed[3].ID, streamed[4].ID)
	}
}

// TestAuditRevocations: a delete records each credential it revokes with
// the delete as the reason; a revoke of a revoked credential is recorded
// as unchanged, not as a second revocation.
func TestAuditRevocations(t *testing.T) {
	tests := []struct {
		name       string
		act        func(f *fixture, conn conncred.Connector) error
		wantReason string
	}{
		{"app deleted", func(f *fixture, conn conncred.Connector) error { return f.a.DeleteApp(f.admin, conn.AppID) }, ReasonAppDeleted},
		{"connector deleted", func(f *fixture, conn conncred.Connector) error {
			return f.a.DeleteConnector(f.admin, conn.AppID, conn.ID)
		}, ReasonConnectorDeleted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			conn := f.connector(t)
			var live []string
			for range 3 {
				c, _, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
				if err != nil {
					t.Fatal(err)
				}
				live = append(live, c.ID)
			}
			early := live[0]
			live = live[1:]
			if _, err := f.a.RevokeCredential(f.admin, conn.AppID, conn.ID, early); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Second)
			if err := tt.act(f, conn); err != nil {
				t.Fatal(err)
			}
			f.a.audit.flushAll(context.Background(), f.clock.Now())
			events, _, err := f.a.ListAudit(f.admin, AuditQuery{Kind: "credential.revoked"})
			if err != nil {
				t.Fatal(err)
			}
			byCred := map[string][]conncred.AuditEvent{}
			for _, e := range events {
				byCred[e.CredentialID] = append(byCred[e.CredentialID], e)
			}
			for _, id := range live {
				got := byCred[id]
				if len(got) != 1 || got[0].Reason != tt.wantReason || got[0].Outcome != "success" || got[0].ConnectorID != conn.ID {
					t.Errorf("credential %s revoked by the delete: got %+v, want one success with reason %q", id, got, tt.wantReason)
				}
			}
			if got := byCred[early]; len(got) != 1 || got[0].Reason != "" {
				t.Errorf("credential %s revoked before the delete: got %+v, want only its own revocation", early, got)
			}
		})
	}

	t.Run("already revoked", func(t *testing.T) {
		f := newFixture(t, Config{})
		conn := f.connector(t)
		c, _, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for range 2 {
			if _, err := f.a.RevokeCredential(f.admin, conn.AppID, conn.ID, c.ID); err != nil {
				t.Fatal(err)
			}
		}
		second, _, _ := f.a.CreateAdmin(f.admin, CredentialOptions{})
		f.a.CreateAdmin(f.admin, CredentialOptions{}) // so second is not the last admin
		for range 2 {
			if _, err := f.a.RevokeAdmin(f.admin, second.ID); err != nil {
				t.Fatal(err)
			}
		}
		f.a.audit.flushAll(context.Background(), f.clock.Now())
		for _, kind := range []string{"credential.revoked", "admin.revoked"} {
			events, _, err := f.a.ListAudit(f.admin, AuditQuery{Kind: kind})
			if err != nil {
				t.Fatal(err)
			}
			if len(events) != 2 {
				t.Fatalf("%s: got %d events, want 2: %+v", kind, len(events), events)
			}
			if got, want := events[0].Outcome, "success"; got != want {
				t.Errorf("%s, first: outcome %q, want %q", kind, got, want)
			}
			if got, want := events[1].Outcome, OutcomeUnchanged; got != want || !strings.Contains(events[1].Reason, "already revoked") {
				t.Errorf("%s, second: outcome %q reason %q, want %q and \"already revoked\"", kind, got, events[1].Reason, want)
			}
		}
	})
}

// blockingAppender holds its first AppendAudit until released.
type blockingAppender struct {
	entered, release chan struct{}
	once             sync.Once
	mu               sync.Mutex
	got              int
}

func (b *blockingAppender) AppendAudit(_ context.Context, events []conncred.AuditEvent) error {
	first := false
	b.once.Do(func() { first = true })
	if first {
		close(b.entered)
		<-b.release
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got += len(events)
	return nil
}

// TestFlushWaitsForAWriteInProgress: a flush that runs while another
// (the background loop's) is writing returns only once that write is in
// the store, so Flush means "everything buffered so far is stored".
func TestFlushWaitsForAWriteInProgress(t *testing.T) {
	st := &blockingAppender{entered: make(chan struct{}), release: make(chan struct{})}
	au := newAuditor(st, slog.New(slog.DiscardHandler), nil)
	au.add(conncred.AuditEvent{Kind: "app.created"})
	bg := make(chan struct{})
	go func() { _ = au.flush(context.Background(), t0); close(bg) }()
	<-st.entered // the background write holds the only event
	flushed := make(chan struct{})
	go func() { _ = au.flush(context.Background(), t0); close(flushed) }()
	select {
	case <-flushed:
		t.Fatal("a second flush returned while the first write was still in progress")
	case <-time.After(50 * time.Millisecond): // a bounded look for the wrong answer
	}
	close(st.release)
	<-flushed
	<-bg
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.got != 1 {
		t.Fatalf("events stored: %d, want 1", st.got)
	}
}
