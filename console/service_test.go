package console_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/console"
	"github.com/conncred/conncred/store/sqlite"
)

var t0 = time.Date(2026, 11, 28, 17, 0, 0, 0, time.UTC)

// fixture is the wing over a real authority and SQLite store on a fake
// clock, with every audit event the authority records.
type fixture struct {
	svc   *console.Service
	auth  *authority.Authority
	store *sqlite.Store
	clock *clock.Fake
	obs   *sweepRecorder

	mu     sync.Mutex
	events []conncred.AuditEvent
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "conncred.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st, clock: clock.NewFake(t0), obs: &sweepRecorder{runs: make(chan sweepRun, 10)}}
	// A credential is looked up anew on every check: the tests move the
	// clock by hours, and a revocation must show at the next request.
	a, err := authority.New(ctx, authority.Config{CacheTTL: time.Nanosecond, AuditSink: f.sink}, st, f.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	f.auth = a
	f.svc = console.New(a, st, f.clock, console.Config{Observer: f.obs})
	return f
}

func (f *fixture) sink(e conncred.AuditEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, e)
}

func (f *fixture) audit() []conncred.AuditEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]conncred.AuditEvent(nil), f.events...)
}

// eventsOf returns the recorded events of one kind.
func (f *fixture) eventsOf(kind string) []conncred.AuditEvent {
	var out []conncred.AuditEvent
	for _, e := range f.audit() {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// admin makes an admin credential and returns a context that acts as it,
// as the bearer middleware would after authenticating its token.
func (f *fixture) admin(t *testing.T) (conncred.Credential, context.Context) {
	t.Helper()
	system := conncred.WithPrincipal(context.Background(), conncred.System)
	c, _, err := f.auth.CreateAdmin(system, authority.CredentialOptions{DisplayName: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := conncred.WithSource(context.Background(), "192.0.2.1:50000")
	return c, conncred.WithPrincipal(ctx, &conncred.Principal{Kind: c.Kind, CredentialID: c.ID, ClientID: c.ClientID, Source: "192.0.2.1:50000"})
}

func (f *fixture) link(t *testing.T, as context.Context) (string, console.Link) {
	t.Helper()
	tok, l, err := f.svc.IssueLink(as)
	if err != nil {
		t.Fatal(err)
	}
	return tok, l
}

// browser is the context of a request from the browser: a source, no
// principal.
func browser() context.Context {
	return conncred.WithSource(context.Background(), "198.51.100.4:61000")
}

func (f *fixture) signIn(t *testing.T, token string) (string, console.Session) {
	t.Helper()
	cookie, s, err := f.svc.SignIn(browser(), token, "")
	if err != nil {
		t.Fatal(err)
	}
	return cookie, s
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := conncred.ErrorCode(err); got != code {
		t.Fatalf("error code: got %q (%v), want %q", got, err, code)
	}
}

// TestSignInAndResume is the whole path: a link names the credential that
// asked for it, signing in starts a session for that credential from the
// browser's address, and resuming it yields that credential's admin
// principal.
func TestSignInAndResume(t *testing.T) {
	f := newFixture(t)
	cred, as := f.admin(t)
	tok, l := f.link(t, as)
	if l.CredentialID != cred.ID || !l.CreatedAt.Equal(t0) || !l.ExpiresAt.Equal(t0.Add(console.LinkLifetime)) || l.UsedAt != nil {
		t.Errorf("link %+v; want one for %s made now, valid %s", l, cred.ID, console.LinkLifetime)
	}
	if url := f.svc.LoginURL(tok); url != "https://127.0.0.1:8443/console/login?token="+tok {
		t.Errorf("LoginURL = %q", url)
	}
	f.clock.Advance(time.Minute)
	cookie, s := f.signIn(t, tok)
	if cookie == "" || cookie == tok {
		t.Fatalf("cookie %q: want a fresh value", cookie)
	}
	if s.CredentialID != cred.ID || s.Source != "198.51.100.4:61000" || !s.ExpiresAt.Equal(f.clock.Now().Add(console.AbsoluteTimeout)) {
		t.Errorf("session %+v", s)
	}
	ctx, got, err := f.svc.Resume(browser(), cookie)
	if err != nil {
		t.Fatal(err)
	}
	p := conncred.PrincipalFrom(ctx)
	if got.ID != s.ID || p == nil || !p.IsAdmin() || p.CredentialID != cred.ID || p.ClientID != cred.ClientID || p.Source != "198.51.100.4:61000" || !p.ExpiresAt.Equal(s.ExpiresAt) {
		t.Errorf("resumed session %s with principal %+v; want %s acting as %s", got.ID, p, s.ID, cred.ClientID)
	}
	in := f.eventsOf(console.AuditSignedIn)
	if len(in) != 1 || in[0].Actor != cred.ClientID || in[0].CredentialID != cred.ID || in[0].Source != "198.51.100.4:61000" || in[0].Outcome != "success" {
		t.Errorf("sign-in events %+v; want one by %s from the browser", in, cred.ClientID)
	}
	if issued := f.eventsOf(console.AuditLinkIssued); len(issued) != 1 || issued[0].Actor != cred.ClientID || issued[0].CredentialID != cred.ID {
		t.Errorf("link events %+v; want one by %s", issued, cred.ClientID)
	}
}

// TestSignInSingleUseUnderConcurrency: two (and more) sign-ins with one
// token at once: exactly one starts a session.
func TestSignInSingleUseUnderConcurrency(t *testing.T) {
	f := newFixture(t)
	_, as := f.admin(t)
	for _, n := range []int{2, 8} {
		tok, _ := f.link(t, as)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				_, _, errs[i] = f.svc.SignIn(browser(), tok, "")
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch conncred.ErrorCode(err) {
			case "":
				won++
			case conncred.EUnauthenticated:
			default:
				t.Errorf("%d at once: unexpected error %v", n, err)
			}
		}
		if won != 1 {
			t.Errorf("%d sign-ins with one token at once: %d succeeded, want 1", n, won)
		}
	}
}

// TestLinkExpiresAtTenMinutes: a link works until just before
// LinkLifetime and not at it; a used or unknown token gets the same answer.
func TestLinkExpiresAtTenMinutes(t *testing.T) {
	f := newFixture(t)
	_, as := f.admin(t)
	early, _ := f.link(t, as)
	late, _ := f.link(t, as)
	f.clock.Advance(console.LinkLifetime - time.Microsecond)
	f.signIn(t, early)
	f.clock.Advance(time.Microsecond)
	_, _, errExpired := f.svc.SignIn(browser(), late, "")
	wantCode(t, errExpired, conncred.EUnauthenticated)
	_, _, errUsed := f.svc.SignIn(browser(), early, "")
	wantCode(t, errUsed, conncred.EUnauthenticated)
	unknown, _ := f.link(t, as) // well-formed, but altered below
	_, _, errUnknown := f.svc.SignIn(browser(), unknown[:len(unknown)-2]+"AA", "")
	_, _, errMalformed := f.svc.SignIn(browser(), "not a token", "")
	for name, err := range map[string]error{"used": errUsed, "unknown": errUnknown, "malformed": errMalformed} {
		wantCode(t, err, conncred.EUnauthenticated)
		if conncred.ErrorMessage(err) != conncred.ErrorMessage(errExpired) {
			t.Errorf("%s token: %q; want the same answer as an expired one, %q", name, conncred.ErrorMessage(err), conncred.ErrorMessage(errExpired))
		}
	}
	if msg := conncred.ErrorMessage(errExpired); !strings.Contains(msg, "conncred console") {
		t.Errorf("message %q does not say how to get a new link", msg)
	}
}

// TestIdleTimeout: a session ends IdleTimeout after its last recorded
// request. The last request is recorded at most once a minute, so a
// request within the minute does not move the idle deadline.
func TestIdleTimeout(t *testing.T) {
	f := newFixture(t)
	_, as := f.admin(t)
	tok, _ := f.link(t, as)
	cookie, s := f.signIn(t, tok)
	signedIn := s.LastSeenAt

	f.clock.Advance(59 * time.Second)
	_, got, err := f.svc.Resume(browser(), cookie)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastSeenAt.Equal(signedIn) {
		t.Errorf("a request 59s after the last: LastSeenAt moved to %s; it is written at most once a minute", got.LastSeenAt)
	}
	f.clock.Set(signedIn.Add(console.IdleTimeout - time.Microsecond))
	_, got, err = f.svc.Resume(browser(), cookie)
	if err != nil {
		t.Fatalf("just before the idle timeout: %v", err)
	}
	touched := f.clock.Now()
	if !got.LastSeenAt.Equal(touched) {
		t.Errorf("LastSeenAt %s, want it moved to %s", got.LastSeenAt, touched)
	}
	stored, err := f.store.GetConsoleSession(context.Background(), s.TokenHash)
	if err != nil || !stored.LastSeenAt.Equal(touched) {
		t.Errorf("stored LastSeenAt %s (%v), want %s", stored.LastSeenAt, err, touched)
	}
	f.clock.Set(touched.Add(console.IdleTimeout - time.Microsecond))
	if _, _, err := f.svc.Resume(browser(), cookie); err != nil {
		t.Fatalf("just before the idle timeout from the touch: %v", err)
	}
	f.clock.Set(f.clock.Now().Add(console.IdleTimeout))
	_, _, err = f.svc.Resume(browser(), cookie)
	wantCode(t, err, conncred.EUnauthenticated)
}

// TestIdleTimeoutExact: at exactly IdleTimeout after the last request the
// session is over.
func TestIdleTimeoutExact(t *testing.T) {
	f := newFixture(t)
	_, as := f.admin(t)
	tok, _ := f.link(t, as)
	cookie, s := f.signIn(t, tok)
	f.clock.Set(s.LastSeenAt.Add(console.IdleTimeout))
	_, _, err := f.svc.Resume(browser(), cookie)
	wantCode(t, err, conncred.EUnauthenticated)
}

// TestAbsoluteTimeout: a session in constant use still ends at
// AbsoluteTimeout after sign-in.
func TestAbsoluteTimeout(t *testing.T) {
	f := newFixture(t)
	_, as := f.admin(t)
	tok, _ := f.link(t, as)
	cookie, s := f.signIn(t, tok)
	for f.clock.Now().Before(s.ExpiresAt.Add(-20 * time.Minute)) {
		f.clock.Advance(20 * time.Minute)
		if _, _, err := f.svc.Resume(browser(), cookie); err != nil {
			t.Fatalf("at +%s, in use: %v", f.clock.Now().Sub(s.CreatedAt), err)
		}
	}
	f.clock.Set(s.ExpiresAt.Add(-time.Microsecond))
	if _, _, err := f.svc.Resume(browser(), cookie); err != nil {
		t.Fatalf("just before the absolute timeout: %v", err)
	}
	f.clock.Set(s.ExpiresAt)
	_, _, err := f.svc.Resume(browser(), cookie)
	wantCode(t, err, conncred.EUnauthenticated)
	if got := s.ExpiresAt.Sub(s.CreatedAt); got != console.AbsoluteTimeout {
		t.Errorf("absolute lifetime %s, want %s", got, console.AbsoluteTimeout)
	}
}

// TestRevokedCredentialEndsSession: revoking the admin credential cuts its
// session off at the next request, ends it for good, and records why.
func TestRevokedCredentialEndsSession(t *testing.T) {
	f := newFixture(t)
	cred, as := f.admin(t)
	_, other := f.admin(t) // the last usable admin cannot be revoked
	tok, _ := f.link(t, as)
	cookie, s := f.signIn(t, tok)
	if _, err := f.auth.RevokeAdmin(other, cred.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.svc.Resume(browser(), cookie)
	wantCode(t, err, conncred.EUnauthenticated)
	stored, err := f.store.GetConsoleSession(context.Background(), s.TokenHash)
	if err != nil || stored.EndedAt == nil || !stored.EndedAt.Equal(f.clock.Now()) {
		t.Errorf("stored session %+v (%v); want it ended now", stored, err)
	}
	out := f.eventsOf(console.AuditSignedOut)
	if len(out) != 1 || out[0].CredentialID != cred.ID || !strings.Contains(out[0].Reason, "revoked") {
		t.Errorf("sign-out events %+v; want one saying the credential was revoked", out)
	}
	_, _, err = f.svc.Resume(browser(), cookie)
	wantCode(t, err, conncred.EUnauthenticated)
}

// TestSignInWithRevokedCredential: a link whose credential was revoked
// before it was used starts no usable session, and is spent.
func TestSignInWithRevokedCredential(t *testing.T) {
	f := newFixture(t)
	cred, as := f.admin(t)
	_, other := f.admin(t)
	tok, _ := f.link(t, as)
	if _, err := f.auth.RevokeAdmin(other, cred.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err := f.svc.SignIn(browser(), tok, "")
	wantCode(t, err, conncred.EUnauthenticated)
	in := f.eventsOf(console.AuditSignedIn)
	if len(in) != 1 || in[0].Outcome != "failure" || in[0].CredentialID != cred.ID {
		t.Errorf("sign-in events %+v; want one failure for %s", in, cred.ID)
	}
	if _, _, err := f.svc.SignIn(browser(), tok, ""); conncred.ErrorCode(err) != conncred.EUnauthenticated {
		t.Errorf("the link again: %v; want it spent", err)
	}
}

// TestWhoMayIssueLinks: connectors, federated principals, System and
// anonymous callers get no link, with the API's codes.
func TestWhoMayIssueLinks(t *testing.T) {
	f := newFixture(t)
	cred, _ := f.admin(t)
	as := func(p *conncred.Principal) context.Context { return conncred.WithPrincipal(context.Background(), p) }
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"anonymous", context.Background(), conncred.EUnauthenticated},
		{"connector", as(&conncred.Principal{Kind: conncred.KindConnector, CredentialID: "2HErg7BRmNdHgX8sTCWVq4E1fyh", ClientID: "c@h/ccc", AppID: "a", ConnectorID: "c"}), conncred.EPermissionDenied},
		{"federated admin", as(&conncred.Principal{Kind: conncred.KindAdmin, CredentialID: "2HErg7BRmNdHgX8sTCWVq4E1fyh", ClientID: "t@h/wfe"}), conncred.EPermissionDenied},
		{"system", as(conncred.System), conncred.EPermissionDenied},
		{"admin with another's id", as(&conncred.Principal{Kind: conncred.KindAdmin, CredentialID: cred.ID, ClientID: "t@h/wfe"}), conncred.EPermissionDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.svc.IssueLink(tc.ctx)
			wantCode(t, err, tc.want)
		})
	}
	if got := f.eventsOf(console.AuditLinkIssued); len(got) != 0 {
		t.Errorf("refused callers recorded %d link_issued events", len(got))
	}
}

// TestSignOut: signing out ends the session (recorded once); the cookie no
// longer works; signing out again, or with an unknown cookie, is no error.
func TestSignOut(t *testing.T) {
	f := newFixture(t)
	cred, as := f.admin(t)
	tok, _ := f.link(t, as)
	cookie, s := f.signIn(t, tok)
	ctx, _, err := f.svc.Resume(browser(), cookie)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SignOut(ctx, cookie); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.svc.Resume(browser(), cookie)
	wantCode(t, err, conncred.EUnauthenticated)
	for _, c := range []string{cookie, "garbage", strings.Repeat("A", 43)} {
		if err := f.svc.SignOut(browser(), c); err != nil {
			t.Errorf("sign out with %.10q...: %v, want nil", c, err)
		}
	}
	out := f.eventsOf(console.AuditSignedOut)
	if len(out) != 1 || out[0].Actor != cred.ClientID || !strings.Contains(out[0].Reason, s.ID) {
		t.Errorf("sign-out events %+v; want one by %s naming session %s", out, cred.ClientID, s.ID)
	}
}

// TestSecretsNeverInAuditOrErrors: no link token or cookie value appears
// in an audit event or in any error's text (message or cause), on the
// success paths and the refusals alike.
func TestSecretsNeverInAuditOrErrors(t *testing.T) {
	f := newFixture(t)
	cred, as := f.admin(t)
	_, other := f.admin(t)
	var secrets []string
	var errs []error
	keep := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	tok, _ := f.link(t, as)
	secrets = append(secrets, tok)
	cookie, _ := f.signIn(t, tok)
	secrets = append(secrets, cookie)
	_, _, err := f.svc.SignIn(browser(), tok, "") // used
	keep(err)
	expired, _ := f.link(t, as)
	secrets = append(secrets, expired)
	f.clock.Advance(console.LinkLifetime)
	_, _, err = f.svc.SignIn(browser(), expired, "")
	keep(err)
	_, _, err = f.svc.SignIn(browser(), tok[:42]+"!", "") // malformed, but close
	keep(err)
	_, _, err = f.svc.Resume(browser(), cookie[:42]+"!")
	keep(err)
	f.clock.Advance(console.IdleTimeout)
	_, _, err = f.svc.Resume(browser(), cookie) // idle
	keep(err)
	revoked, _ := f.link(t, as)
	secrets = append(secrets, revoked)
	if _, err := f.auth.RevokeAdmin(other, cred.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.svc.SignIn(browser(), revoked, "")
	keep(err)
	if len(errs) != 6 {
		t.Fatalf("%d refusals, want 6: %v", len(errs), errs)
	}
	for _, s := range secrets {
		for _, err := range errs {
			if strings.Contains(err.Error(), s) || strings.Contains(fmt.Sprintf("%+v", err), s) {
				t.Errorf("an error carries a token or cookie: %v", err)
			}
		}
		for _, e := range f.audit() {
			if strings.Contains(fmt.Sprintf("%+v", e), s) {
				t.Errorf("audit event %s carries a token or cookie: %+v", e.Kind, e)
			}
		}
	}
	kinds := map[string]int{}
	for _, e := range f.audit() {
		kinds[e.Kind]++
	}
	if kinds[console.AuditLinkIssued] != 3 || kinds[console.AuditSignedIn] != 2 {
		t.Errorf("audit kinds %v; want 3 links issued and 2 sign-ins (one refused)", kinds)
	}
}
