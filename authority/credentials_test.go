package authority

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/secret"
)

func TestRotateAddsUpToTheCap(t *testing.T) {
	f := newFixture(t, Config{MaxActiveCredentials: 3})
	conn := f.connector(t)
	var ids []string
	for i := 0; i < 3; i++ {
		c, s, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
		if err != nil {
			t.Fatalf("rotate %d: %v", i, err)
		}
		if s.IsZero() || c.ClientID == "" || c.DisplayName == "" {
			t.Fatalf("rotate %d: credential %+v", i, c)
		}
		cid, err := secret.ParseClientID(c.ClientID)
		if err != nil || cid.Host != "127.0.0.1:8443" || cid.Suffix != "ccc" || c.DisplayName != cid.Name {
			t.Fatalf("client id %q / display name %q", c.ClientID, c.DisplayName)
		}
		ids = append(ids, c.ID)
	}
	_, _, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
	wantCode(t, err, conncred.EConflict)

	// Revoking one frees a place; every earlier credential is still there.
	if _, err := f.a.RevokeCredential(f.admin, conn.AppID, conn.ID, ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{DisplayName: "ci"}); err != nil {
		t.Fatalf("rotate after revoke: %v", err)
	}
	list, next, err := f.a.ListCredentials(f.admin, conn.AppID, conn.ID, PageRequest{})
	if err != nil || next != "" || len(list) != 4 {
		t.Fatalf("list: %d items, next %q, err %v", len(list), next, err)
	}
	if list[0].ID != ids[0] || list[0].DeletedAt == nil || list[3].DisplayName != "ci" {
		t.Fatalf("list order or content wrong: %+v", list)
	}
}

func TestConcurrentRotatesNeverExceedTheCap(t *testing.T) {
	f := newFixture(t, Config{MaxActiveCredentials: 4})
	conn := f.connector(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, conflicts := 0, 0
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
			mu.Lock()
			defer mu.Unlock()
			switch conncred.ErrorCode(err) {
			case "":
				ok++
			case conncred.EConflict:
				conflicts++
			default:
				t.Errorf("rotate: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 4 || conflicts != 12 {
		t.Fatalf("got %d created, %d refused; want 4 and 12", ok, conflicts)
	}
}

func TestExpiryRules(t *testing.T) {
	f := newFixture(t, Config{MaxCredentialLifetime: 720 * time.Hour})
	conn := f.connector(t)
	now := f.a.now()
	rotate := func(opt CredentialOptions) (conncred.Credential, error) {
		c, _, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, opt)
		return c, err
	}
	c, err := rotate(CredentialOptions{})
	if err != nil || c.ExpiresAt == nil || !c.ExpiresAt.Equal(now.Add(720*time.Hour)) {
		t.Fatalf("default expiry under a maximum: %v, %v", c.ExpiresAt, err)
	}
	c, err = rotate(CredentialOptions{Expires: 24 * time.Hour})
	if err != nil || !c.ExpiresAt.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("expires 24h: %v, %v", c.ExpiresAt, err)
	}
	at := now.Add(48 * time.Hour)
	c, err = rotate(CredentialOptions{ExpiresTime: &at})
	if err != nil || !c.ExpiresAt.Equal(at) {
		t.Fatalf("expiresTime: %v, %v", c.ExpiresAt, err)
	}
	_, err = rotate(CredentialOptions{Expires: 721 * time.Hour})
	wantCode(t, err, conncred.EInvalid)
	past := now.Add(-time.Second)
	_, err = rotate(CredentialOptions{ExpiresTime: &past})
	wantCode(t, err, conncred.EInvalid)
	_, err = rotate(CredentialOptions{Expires: time.Hour, ExpiresTime: &at})
	wantCode(t, err, conncred.EInvalid)
}

func TestExpiredCredentialStopsAuthenticating(t *testing.T) {
	f := newFixture(t, Config{})
	conn := f.connector(t)
	cred, s, err := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{Expires: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := secret.Parse(s.Reveal())
	tok, err := f.a.Exchange(context.Background(), tokenReq(cred.ClientID, officialAssertion(cred.ClientID, "127.0.0.1", f.clock.Now()).sign(t, priv)))
	if err != nil {
		t.Fatal(err)
	}
	// The access token does not outlive the credential.
	if tok.ExpiresIn != 600 {
		t.Fatalf("expires_in: got %d, want 600", tok.ExpiresIn)
	}
	f.clock.Advance(10 * time.Minute)
	_, err = f.a.Authenticate(context.Background(), tok.AccessToken)
	wantCode(t, err, conncred.EUnauthenticated)
	_, err = f.a.Exchange(context.Background(), tokenReq(cred.ClientID, officialAssertion(cred.ClientID, "127.0.0.1", f.clock.Now()).sign(t, priv)))
	wantTokenError(t, err, ErrInvalidClient, "expired at")
}

func TestRevocationCutsOffTokensAtOnce(t *testing.T) {
	f := newFixture(t, Config{CacheTTL: time.Hour})
	conn := f.connector(t)
	cred, s, _ := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
	priv, _ := secret.Parse(s.Reveal())
	tok, err := f.a.Exchange(context.Background(), tokenReq(cred.ClientID, officialAssertion(cred.ClientID, "127.0.0.1", f.clock.Now()).sign(t, priv)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.a.Authenticate(context.Background(), tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	first, err := f.a.RevokeCredential(f.admin, conn.AppID, conn.ID, cred.ID)
	if err != nil || first.DeletedAt == nil {
		t.Fatalf("revoke: %+v %v", first, err)
	}
	// Even with an hour-long cache, the revoking node refuses at once.
	_, err = f.a.Authenticate(context.Background(), tok.AccessToken)
	wantCode(t, err, conncred.EUnauthenticated)
	info, err := f.a.IntrospectToken(f.admin, tok.AccessToken)
	if err != nil || info.Active {
		t.Fatalf("introspect revoked token: %+v %v", info, err)
	}
	// Revoking again is fine and keeps the first time.
	f.clock.Advance(time.Minute)
	again, err := f.a.RevokeCredential(f.admin, conn.AppID, conn.ID, cred.ID)
	if err != nil || !again.DeletedAt.Equal(*first.DeletedAt) {
		t.Fatalf("second revoke: %v %v", again.DeletedAt, err)
	}
}

func TestDeletingParentsRevokes(t *testing.T) {
	for _, what := range []string{"connector", "app"} {
		t.Run(what, func(t *testing.T) {
			f := newFixture(t, Config{})
			conn := f.connector(t)
			cred, _, _ := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
			var err error
			if what == "app" {
				err = f.a.DeleteApp(f.admin, conn.AppID)
			} else {
				err = f.a.DeleteConnector(f.admin, conn.AppID, conn.ID)
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.a.GetCredential(f.admin, conn.AppID, conn.ID, cred.ID)
			if err != nil || got.DeletedAt == nil {
				t.Fatalf("credential after delete: %+v, %v", got, err)
			}
			_, err = f.a.GetConnector(f.admin, conn.AppID, conn.ID)
			wantCode(t, err, conncred.ENotFound)
			_, _, err = f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
			wantCode(t, err, conncred.ENotFound)
		})
	}
}

func TestNotFoundAcrossParents(t *testing.T) {
	f := newFixture(t, Config{})
	a := f.connector(t)
	b := f.connector(t)
	cred, _, _ := f.a.RotateCredential(f.admin, a.AppID, a.ID, CredentialOptions{})
	for name, call := range map[string]func() error{
		"credential under another connector": func() error { _, err := f.a.GetCredential(f.admin, b.AppID, b.ID, cred.ID); return err },
		"connector under another app":        func() error { _, err := f.a.GetConnector(f.admin, b.AppID, a.ID); return err },
		"revoke under another connector":     func() error { _, err := f.a.RevokeCredential(f.admin, b.AppID, b.ID, cred.ID); return err },
		"malformed id":                       func() error { _, err := f.a.GetApp(f.admin, "../../etc/passwd"); return err },
		"unknown app":                        func() error { _, err := f.a.GetApp(f.admin, "2HErg7BRmNdHgX8sTCWVq4E1fyh"); return err },
		"admin id as connector credential":   func() error { _, err := f.a.GetAdmin(f.admin, cred.ID); return err },
	} {
		t.Run(name, func(t *testing.T) { wantCode(t, call(), conncred.ENotFound) })
	}
}

func TestConnectorPrincipalSeesOnlyItself(t *testing.T) {
	f := newFixture(t, Config{})
	conn := f.connector(t)
	own, _, _ := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
	other, _, _ := f.a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
	ctx := conncred.WithPrincipal(context.Background(), &conncred.Principal{
		Kind: conncred.KindConnector, CredentialID: own.ID, ClientID: own.ClientID, AppID: conn.AppID, ConnectorID: conn.ID,
	})
	if _, err := f.a.GetCredential(ctx, conn.AppID, conn.ID, own.ID); err != nil {
		t.Fatalf("own credential: %v", err)
	}
	if in, err := f.a.Introspect(ctx); err != nil || in.Roles[0] != "connector" {
		t.Fatalf("introspect: %+v %v", in, err)
	}
	for name, call := range map[string]func() error{
		"other credential": func() error { _, err := f.a.GetCredential(ctx, conn.AppID, conn.ID, other.ID); return err },
		"rotate": func() error {
			_, _, err := f.a.RotateCredential(ctx, conn.AppID, conn.ID, CredentialOptions{})
			return err
		},
		"revoke own":   func() error { _, err := f.a.RevokeCredential(ctx, conn.AppID, conn.ID, own.ID); return err },
		"list apps":    func() error { _, _, err := f.a.ListApps(ctx, PageRequest{}); return err },
		"create admin": func() error { _, _, err := f.a.CreateAdmin(ctx, CredentialOptions{}); return err },
		"rotate keys":  func() error { _, err := f.a.RotateSigningKey(ctx); return err },
		"audit":        func() error { _, _, err := f.a.ListAudit(ctx, AuditQuery{}); return err },
	} {
		t.Run(name, func(t *testing.T) { wantCode(t, call(), conncred.EPermissionDenied) })
	}
	_, _, err := f.a.ListApps(context.Background(), PageRequest{})
	wantCode(t, err, conncred.EUnauthenticated)
}

func TestPaging(t *testing.T) {
	f := newFixture(t, Config{})
	var want []string
	for i := 0; i < 23; i++ {
		app, err := f.a.CreateApp(f.admin, AppInput{DisplayName: fmt.Sprintf("app %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, app.ID)
	}
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		apps, next, err := f.a.ListApps(f.admin, PageRequest{Size: 5, Token: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range apps {
			got = append(got, a.ID)
		}
		if next == "" {
			if pages != 4 {
				t.Fatalf("pages: got %d, want 5", pages+1)
			}
			break
		}
		token = next
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("paged ids differ from creation order")
	}
	for _, bad := range []PageRequest{{Size: -1}, {Token: "garbage"}, {Token: "djEuLi4vLi4v"}} {
		_, _, err := f.a.ListApps(f.admin, bad)
		wantCode(t, err, conncred.EInvalid)
	}
	apps, _, err := f.a.ListApps(f.admin, PageRequest{Size: 1 << 40})
	if err != nil || len(apps) != 23 {
		t.Fatalf("huge page size is coerced: %d, %v", len(apps), err)
	}
}

func TestLastUsedAtIsWrittenBehindAndNeverBackwards(t *testing.T) {
	f := newFixture(t, Config{})
	cred, s, _ := f.a.CreateAdmin(f.admin, CredentialOptions{})
	priv, _ := secret.Parse(s.Reveal())
	exchange := func() {
		t.Helper()
		if _, err := f.a.Exchange(context.Background(), tokenReq(cred.ClientID, officialAssertion(cred.ClientID, "127.0.0.1", f.clock.Now()).sign(t, priv))); err != nil {
			t.Fatal(err)
		}
	}
	exchange()
	first := f.a.now()
	got, _ := f.store.GetCredential(context.Background(), cred.ID)
	if got.LastUsedAt != nil {
		t.Fatalf("lastUsedAt written on the hot path: %v", got.LastUsedAt)
	}
	f.a.Flush(context.Background())
	got, _ = f.store.GetCredential(context.Background(), cred.ID)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(first) {
		t.Fatalf("lastUsedAt after flush: %v, want %v", got.LastUsedAt, first)
	}
	// A later use moves it forward; an older batch (another node's, say)
	// does not move it back.
	f.clock.Advance(3 * time.Second)
	exchange()
	f.a.Flush(context.Background())
	if err := f.store.TouchCredentials(context.Background(), []conncred.CredentialUse{{ID: cred.ID, At: first}}); err != nil {
		t.Fatal(err)
	}
	got, _ = f.store.GetCredential(context.Background(), cred.ID)
	if !got.LastUsedAt.Equal(f.a.now()) {
		t.Fatalf("lastUsedAt: got %v, want %v", got.LastUsedAt, f.a.now())
	}
}

func TestRevokeLastAdminIsRefused(t *testing.T) {
	f := newFixture(t, Config{})
	first, _, created, err := f.a.Bootstrap(context.Background())
	if err != nil || !created {
		t.Fatalf("bootstrap: %v %v", created, err)
	}
	if _, _, again, _ := f.a.Bootstrap(context.Background()); again {
		t.Fatal("second bootstrap created another admin")
	}
	_, err = f.a.RevokeAdmin(f.admin, first.ID)
	wantCode(t, err, conncred.EInvalid)
	second, _, _ := f.a.CreateAdmin(f.admin, CredentialOptions{})
	if _, err := f.a.RevokeAdmin(f.admin, first.ID); err != nil {
		t.Fatalf("revoke with another admin left: %v", err)
	}
	_, err = f.a.RevokeAdmin(f.admin, second.ID)
	wantCode(t, err, conncred.EInvalid)
}

// touchCounter counts the lastUsedAt writes that reach the store.
type touchCounter struct {
	conncred.Store
	mu    sync.Mutex
	calls int
	perID map[string]int
}

func (c *touchCounter) TouchCredentials(ctx context.Context, uses []conncred.CredentialUse) error {
	c.mu.Lock()
	c.calls++
	for _, u := range uses {
		c.perID[u.ID]++
	}
	c.mu.Unlock()
	return c.Store.TouchCredentials(ctx, uses)
}

// TestLastUsedAtOneWritePerFlush: however many exchanges a credential makes
// between two flushes (one a second by default), the store sees one write
// for it, with its latest use: lastUsedAt costs the database at most one
// write per credential per second, whatever the token rate.
func TestLastUsedAtOneWritePerFlush(t *testing.T) {
	f := newFixture(t, Config{})
	counter := &touchCounter{Store: f.store, perID: map[string]int{}}
	// No background flush: the test flushes, so it counts exactly.
	a, err := New(context.Background(), Config{LastUsedInterval: time.Hour}, counter, f.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	type key struct {
		id   string
		priv ed25519.PrivateKey
		cid  string
	}
	var creds []key
	for range 3 {
		c, s, err := a.CreateAdmin(f.admin, CredentialOptions{})
		if err != nil {
			t.Fatal(err)
		}
		priv, _ := secret.Parse(s.Reveal())
		creds = append(creds, key{c.ID, priv, c.ClientID})
	}
	for round := range 2 {
		for i := range 50 {
			k := creds[i%len(creds)]
			f.clock.Advance(time.Millisecond)
			as := officialAssertion(k.cid, "127.0.0.1", f.clock.Now())
			if _, err := a.Exchange(context.Background(), tokenReq(k.cid, as.sign(t, k.priv))); err != nil {
				t.Fatal(err)
			}
		}
		a.Flush(context.Background())
		counter.mu.Lock()
		if counter.calls != round+1 {
			t.Errorf("after flush %d: %d store writes, want %d", round+1, counter.calls, round+1)
		}
		for _, k := range creds {
			if counter.perID[k.id] != round+1 {
				t.Errorf("after flush %d: credential written %d times, want %d", round+1, counter.perID[k.id], round+1)
			}
		}
		counter.mu.Unlock()
	}
	got, _ := f.store.GetCredential(context.Background(), creds[1].id)
	if want := f.clock.Now().Truncate(time.Second); got.LastUsedAt == nil || !got.LastUsedAt.Equal(want) {
		t.Errorf("lastUsedAt %v is not the latest use to the second (%v)", got.LastUsedAt, want)
	}
}

// TestLastUsedAtOneWritePerSecondAcrossNodes: two nodes on one store each
// flush their uses of a credential; uses are kept to the second, so within
// one second every node flushes the same value and only the first changes
// the row (both stores update only to a newer value; the two-node
// PostgreSQL benchmark counts the row writes): lastUsedAt costs one write
// per credential per second however many nodes serve it.
func TestLastUsedAtOneWritePerSecondAcrossNodes(t *testing.T) {
	f := newFixture(t, Config{})
	var nodes [2]*Authority
	for i := range nodes {
		a, err := New(context.Background(), Config{LastUsedInterval: time.Hour}, f.store, f.clock, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		nodes[i] = a
	}
	cred, s, _ := nodes[0].CreateAdmin(f.admin, CredentialOptions{})
	key, _ := secret.Parse(s.Reveal())
	use := func(a *Authority) {
		t.Helper()
		as := officialAssertion(cred.ClientID, "127.0.0.1", f.clock.Now())
		if _, err := a.Exchange(context.Background(), tokenReq(cred.ClientID, as.sign(t, key))); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(100 * time.Millisecond)
	}
	lastUsed := func() time.Time {
		t.Helper()
		got, err := f.store.GetCredential(context.Background(), cred.ID)
		if err != nil || got.LastUsedAt == nil {
			t.Fatalf("lastUsedAt: %v, %v", got.LastUsedAt, err)
		}
		return *got.LastUsedAt
	}
	f.clock.Set(t0.Truncate(time.Second).Add(time.Minute)) // the start of a second
	use(nodes[0])
	nodes[0].Flush(context.Background())
	first := lastUsed()
	// The other node's use 100 ms later, same second, flushes the same
	// value, which the store's only-if-newer update leaves unwritten.
	use(nodes[1])
	nodes[1].Flush(context.Background())
	if got := lastUsed(); !got.Equal(first) || !first.Equal(first.Truncate(time.Second)) {
		t.Errorf("lastUsedAt after a second node's use in the same second: %v, want %v, a whole second", got, first)
	}
	// A use in the next second moves it on.
	f.clock.Advance(time.Second)
	use(nodes[1])
	nodes[1].Flush(context.Background())
	if got := lastUsed(); !got.Equal(first.Add(time.Second)) {
		t.Errorf("lastUsedAt after a use a second later: %v, want %v", got, first.Add(time.Second))
	}
}
