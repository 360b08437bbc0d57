package federation

import (
	"context"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/internal/e2e"
	"github.com/conncred/conncred/store/postgres"
)

// TestTwoNodesSeeATrustDelete: two nodes share one PostgreSQL database.
// A token exchanged and used on node B is refused there within a second of
// the trust's delete on node A. Both nodes' clocks are fake and never move,
// so their caches never expire: only the notification can tell node B.
func TestTwoNodesSeeATrustDelete(t *testing.T) {
	url := e2e.PostgresURL(t)
	ctx := context.Background()
	iss := newTestIssuer(t)
	clk := clock.NewFake(time.Now().UTC().Truncate(time.Second))
	type node struct {
		auth *authority.Authority
		svc  *Service
	}
	var nodes [2]node
	for i := range nodes {
		st, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		a, err := authority.New(ctx, authority.Config{PublicHost: "127.0.0.1:8443"}, st, clk, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.Close() })
		svc := New(Config{PublicHost: "127.0.0.1:8443", Keys: KeyConfig{HTTPClient: iss.srv.Client()}}, st, a, clk, nil)
		t.Cleanup(func() { svc.Close() })
		nodes[i] = node{a, svc}
	}
	a, b := nodes[0], nodes[1]
	admin := conncred.WithPrincipal(ctx, conncred.System)
	app, err := a.auth.CreateApp(admin, authority.AppInput{DisplayName: "Okta"})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := a.auth.CreateConnector(admin, app.ID, authority.ConnectorInput{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := a.svc.CreateTrust(admin, TrustInput{Issuer: iss.url(), Condition: ghCondition, Role: RoleConnector, AppID: app.ID, ConnectorID: conn.ID})
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.svc.Exchange(ctx, ExchangeRequest{ClientID: tr.ClientID, SubjectTokenType: TokenTypeJWT,
		SubjectToken: iss.sign(t, "RS256-1", githubClaims(iss.url(), a.auth.Issuer(), clk.Now()))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.auth.Authenticate(ctx, res.Token.AccessToken); err != nil {
		t.Fatal(err) // node B now caches the trust
	}
	if _, err := a.svc.DeleteTrust(admin, tr.ID); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for {
		_, err := b.auth.Authenticate(ctx, res.Token.AccessToken)
		if conncred.ErrorCode(err) == conncred.EUnauthenticated {
			t.Logf("node B refused the token %v after the delete on node A", time.Since(start).Round(time.Millisecond))
			return
		}
		if time.Since(start) > time.Second {
			t.Fatalf("node B still accepts the token a second after the trust was deleted on node A (err %v)", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
