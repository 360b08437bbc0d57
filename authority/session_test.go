package authority

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
)

// sourceGuardFunc is a SourceGuard made of a function.
type sourceGuardFunc func(conncred.Credential, string) error

func (g sourceGuardFunc) CheckSource(_ context.Context, c conncred.Credential, addr string) error {
	return g(c, addr)
}

// TestAuthenticateCredential holds a console session's credential check to
// a bearer token's: the same refusals, with the same codes, for a missing,
// revoked, expired or source-refused credential; and a connector
// credential cannot act through the console.
func TestAuthenticateCredential(t *testing.T) {
	f := newFixture(t, Config{CacheTTL: time.Nanosecond})
	admin, _, err := f.a.CreateAdmin(f.admin, CredentialOptions{DisplayName: "ops"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := conncred.WithSource(context.Background(), "192.0.2.9:4000")
	p, err := f.a.AuthenticateCredential(ctx, admin.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.Kind != conncred.KindAdmin || p.CredentialID != admin.ID || p.ClientID != admin.ClientID || p.Source != "192.0.2.9:4000" || !p.IsAdmin() || p.IsSystem() {
		t.Errorf("principal %+v; want the admin credential's, from the source in ctx", p)
	}

	// Source limits: the guard sees this credential and the source in ctx.
	var saw string
	f.a.SetSourceGuard(sourceGuardFunc(func(c conncred.Credential, addr string) error {
		saw = c.ID + " " + addr
		return conncred.Errorf(conncred.EPermissionDenied, "not from here")
	}))
	_, err = f.a.AuthenticateCredential(ctx, admin.ID)
	wantCode(t, err, conncred.EPermissionDenied)
	if want := admin.ID + " 192.0.2.9:4000"; saw != want {
		t.Errorf("the guard saw %q, want %q", saw, want)
	}
	f.a.SetSourceGuard(nil)

	conn := f.connector(t)
	cc, _, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.a.AuthenticateCredential(ctx, cc.ID)
	wantCode(t, err, conncred.EPermissionDenied)
	_, err = f.a.AuthenticateCredential(ctx, "2HErg7BRmNdHgX8sTCWVq4E1fyh")
	wantCode(t, err, conncred.EUnauthenticated)

	expiring, _, err := f.a.CreateAdmin(f.admin, CredentialOptions{Expires: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour - time.Microsecond)
	if _, err := f.a.AuthenticateCredential(ctx, expiring.ID); err != nil {
		t.Errorf("just before its expiry: %v", err)
	}
	f.clock.Advance(time.Microsecond)
	_, err = f.a.AuthenticateCredential(ctx, expiring.ID)
	wantCode(t, err, conncred.EUnauthenticated)
	if !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired credential: %v; want it to say so", err)
	}

	if _, _, err := f.a.CreateAdmin(f.admin, CredentialOptions{DisplayName: "spare"}); err != nil {
		t.Fatal(err) // the last usable admin cannot be revoked
	}
	if _, err := f.a.RevokeAdmin(f.admin, admin.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.a.AuthenticateCredential(ctx, admin.ID)
	wantCode(t, err, conncred.EUnauthenticated)
	if !strings.Contains(err.Error(), "revoked") {
		t.Errorf("revoked credential: %v; want it to say so", err)
	}
}

// TestAuthorizeConsoleLink: only an admin calling with a stored, usable
// admin credential's token may ask for a login link.
func TestAuthorizeConsoleLink(t *testing.T) {
	f := newFixture(t, Config{})
	admin, _, err := f.a.CreateAdmin(f.admin, CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	as := func(p *conncred.Principal) context.Context { return conncred.WithPrincipal(context.Background(), p) }
	adminP := &conncred.Principal{Kind: conncred.KindAdmin, CredentialID: admin.ID, ClientID: admin.ClientID}
	p, err := f.a.AuthorizeConsoleLink(as(adminP))
	if err != nil {
		t.Fatal(err)
	}
	if p.CredentialID != admin.ID {
		t.Errorf("principal for credential %q, want %q", p.CredentialID, admin.ID)
	}
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want string
	}{
		{"nobody", context.Background(), conncred.EUnauthenticated},
		{"connector", as(&conncred.Principal{Kind: conncred.KindConnector, CredentialID: admin.ID, ClientID: "c@h/ccc"}), conncred.EPermissionDenied},
		{"system", as(conncred.System), conncred.EPermissionDenied},
		{"federation trust", as(&conncred.Principal{Kind: conncred.KindAdmin, CredentialID: "2HErg7BRmNdHgX8sTCWVq4E1fyh", ClientID: "x@h/wfe"}), conncred.EPermissionDenied},
		{"another client id", as(&conncred.Principal{Kind: conncred.KindAdmin, CredentialID: admin.ID, ClientID: "x@h/wfe"}), conncred.EPermissionDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.a.AuthorizeConsoleLink(tc.ctx)
			wantCode(t, err, tc.want)
		})
	}
	if _, _, err := f.a.CreateAdmin(f.admin, CredentialOptions{DisplayName: "spare"}); err != nil {
		t.Fatal(err) // the last usable admin cannot be revoked
	}
	if _, err := f.a.RevokeAdmin(f.admin, admin.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.a.AuthorizeConsoleLink(as(adminP))
	wantCode(t, err, conncred.EUnauthenticated)
}
