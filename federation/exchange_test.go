package federation

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	jose "github.com/go-jose/go-jose/v4"
)

const ghCondition = `claims.repository == "acme/connectors" && claims.ref == "refs/heads/main"`

func wantTokenError(t testing.TB, err error, code, desc string) {
	t.Helper()
	var te *authority.TokenError
	if !errors.As(err, &te) {
		t.Fatalf("error: got %v (%T), want a *authority.TokenError %s", err, err, code)
	}
	if te.Code != code || !strings.Contains(te.Description, desc) {
		t.Fatalf("error: got %s %q, want %s containing %q", te.Code, te.Description, code, desc)
	}
}

// TestExchangeClaimShapes exchanges tokens shaped like each platform's, with
// each allowed algorithm, and uses the access token.
func TestExchangeClaimShapes(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	iss := f.issuer.url()
	for _, tc := range []struct {
		name, kid, cond string
		claims          map[string]any
	}{
		{"GitHub Actions RS256", "RS256-1", ghCondition, githubClaims(iss, f.aud, now)},
		{"GitLab CI ES256", "ES256-1", `claims.project_path == "acme/connectors" && claims.ref_protected == "true"`, gitlabClaims(iss, f.aud, now)},
		{"Kubernetes EdDSA", "EdDSA-1", `claims.sub == "system:serviceaccount:sync:baton-okta" && claims["kubernetes.io"].namespace == "sync"`, kubernetesClaims(iss, f.aud, now)},
		{"HCP Terraform RS256", "RS256-1", `claims.terraform_organization_name == "acme" && claims.terraform_run_phase == "apply"`, terraformClaims(iss, f.aud, now)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := f.trust(t, tc.cond)
			res, err := f.exchange(tr, f.issuer.sign(t, tc.kid, tc.claims))
			if err != nil {
				t.Fatal(err)
			}
			if res.IssuedTokenType != TokenTypeAccessToken {
				t.Errorf("issued_token_type: got %q, want %q", res.IssuedTokenType, TokenTypeAccessToken)
			}
			p, err := f.auth.Authenticate(context.Background(), res.Token.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != conncred.KindConnector || p.ConnectorID != tr.ConnectorID || p.AppID != tr.AppID || p.ClientID != tr.ClientID {
				t.Errorf("principal: got %+v, want connector %s of app %s as %s", p, tr.ConnectorID, tr.AppID, tr.ClientID)
			}
			if p.IsAdmin() {
				t.Error("a connector trust's token is an admin")
			}
		})
	}
}

// TestExchangeLifetime: the access token never outlives the subject token
// nor the trust's maximum nor the server's TTL.
func TestExchangeLifetime(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	for _, tc := range []struct {
		name       string
		subjectExp time.Duration
		trustMax   time.Duration
		want       time.Duration
	}{
		{"subject token expires first", 5 * time.Minute, 0, 5 * time.Minute},
		{"trust maximum first", 2 * time.Hour, 10 * time.Minute, 10 * time.Minute},
		{"server TTL first", 3 * time.Hour, 0, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := f.trust(t, ghCondition, func(in *TrustInput) { in.MaxTokenLifetime = tc.trustMax })
			c := githubClaims(f.issuer.url(), f.aud, now)
			c["exp"] = now.Add(tc.subjectExp).Unix()
			res, err := f.exchange(tr, f.issuer.sign(t, "RS256-1", c))
			if err != nil {
				t.Fatal(err)
			}
			if got := time.Duration(res.Token.ExpiresIn) * time.Second; got != tc.want {
				t.Errorf("expires_in: got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestExchangeRefusals is every refusal path of the exchange, with the
// error code and the check its description names.
func TestExchangeRefusals(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	iss := f.issuer.url()
	tr := f.trust(t, ghCondition)
	deleted := f.trust(t, ghCondition)
	if _, err := f.svc.DeleteTrust(f.admin, deleted.ID); err != nil {
		t.Fatal(err)
	}
	gh := func(edit func(map[string]any)) map[string]any {
		c := githubClaims(iss, f.aud, now)
		edit(c)
		return c
	}
	good := f.issuer.sign(t, "RS256-1", githubClaims(iss, f.aud, now))
	other := newSigner(t, jose.RS256)
	for _, tc := range []struct {
		name       string
		req        ExchangeRequest
		code, desc string
	}{
		{"no subject token", ExchangeRequest{ClientID: tr.ClientID, SubjectTokenType: TokenTypeJWT}, authority.ErrInvalidRequest, "subject_token is required"},
		{"wrong subject token type", ExchangeRequest{ClientID: tr.ClientID, SubjectToken: good, SubjectTokenType: "urn:ietf:params:oauth:token-type:saml2"}, authority.ErrInvalidRequest, "subject_token_type"},
		{"requested token type", ExchangeRequest{ClientID: tr.ClientID, SubjectToken: good, SubjectTokenType: TokenTypeJWT, RequestedTokenType: "urn:ietf:params:oauth:token-type:refresh_token"}, authority.ErrInvalidRequest, "requested_token_type"},
		{"actor token", ExchangeRequest{ClientID: tr.ClientID, SubjectToken: good, SubjectTokenType: TokenTypeJWT, ActorToken: good}, authority.ErrInvalidRequest, "actor_token"},
		{"other audience", ExchangeRequest{ClientID: tr.ClientID, SubjectToken: good, SubjectTokenType: TokenTypeJWT, Audience: "https://evil.example"}, ErrInvalidTarget, "audience"},
		{"other resource", ExchangeRequest{ClientID: tr.ClientID, SubjectToken: good, SubjectTokenType: TokenTypeJWT, Resource: "https://evil.example/"}, ErrInvalidTarget, "resource"},
		{"no client id", ExchangeRequest{SubjectToken: good, SubjectTokenType: TokenTypeJWT}, authority.ErrInvalidRequest, "client_id is required"},
		{"credential client id", ExchangeRequest{ClientID: "brave-falcon-40213@127.0.0.1:8443/ccc", SubjectToken: good, SubjectTokenType: TokenTypeJWT}, authority.ErrInvalidClient, "ending in /wfe"},
		{"unknown trust", ExchangeRequest{ClientID: "brave-falcon-40213@127.0.0.1:8443/wfe", SubjectToken: good, SubjectTokenType: TokenTypeJWT}, authority.ErrInvalidClient, "unknown client_id"},
		{"deleted trust", ExchangeRequest{ClientID: deleted.ClientID, SubjectToken: good, SubjectTokenType: TokenTypeJWT}, authority.ErrInvalidClient, "unknown client_id"},
		{"oversized", ExchangeRequest{ClientID: tr.ClientID, SubjectToken: strings.Repeat("a", maxSubjectTokenBytes+1), SubjectTokenType: TokenTypeJWT}, authority.ErrInvalidRequest, "larger than"},
		{"not a JWT", ExchangeRequest{ClientID: tr.ClientID, SubjectToken: "not.a.jwt", SubjectTokenType: TokenTypeJWT}, authority.ErrInvalidGrant, "not a JWS-signed JWT"},
		{"alg none", ExchangeRequest{ClientID: tr.ClientID, SubjectToken: unsigned(githubClaims(iss, f.aud, now)), SubjectTokenType: TokenTypeJWT}, authority.ErrInvalidGrant, "allowed algorithm"},
		{"HMAC", ExchangeRequest{ClientID: tr.ClientID, SubjectToken: hmacSigned(t, githubClaims(iss, f.aud, now)), SubjectTokenType: TokenTypeJWT}, authority.ErrInvalidGrant, "allowed algorithm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.Exchange(context.Background(), tc.req)
			wantTokenError(t, err, tc.code, tc.desc)
		})
	}
	for _, tc := range []struct {
		name, token, desc string
	}{
		{"unknown kid", signWith(t, jose.RS256, other, "nobody", githubClaims(iss, f.aud, now)), "unknown key"},
		{"bad signature", signWith(t, jose.RS256, other, "RS256-1", githubClaims(iss, f.aud, now)), "signature does not verify"},
		{"no kid, several keys", signWith(t, jose.RS256, other, "", githubClaims(iss, f.aud, now)), "no kid"},
		{"wrong issuer", f.issuer.sign(t, "RS256-1", gh(func(c map[string]any) { c["iss"] = "https://token.actions.githubusercontent.com" })), "iss is not the trust's issuer"},
		{"wrong audience", f.issuer.sign(t, "RS256-1", gh(func(c map[string]any) { c["aud"] = "sts.amazonaws.com" })), "aud does not name"},
		{"no exp", f.issuer.sign(t, "RS256-1", gh(func(c map[string]any) { delete(c, "exp") })), "no exp"},
		{"expired", f.issuer.sign(t, "RS256-1", gh(func(c map[string]any) { c["exp"] = now.Add(-31 * time.Second).Unix() })), "expired"},
		{"not yet valid", f.issuer.sign(t, "RS256-1", gh(func(c map[string]any) { c["nbf"] = now.Add(31 * time.Second).Unix() })), "not valid yet"},
		{"no iat", f.issuer.sign(t, "RS256-1", gh(func(c map[string]any) { delete(c, "iat") })), "no iat"},
		{"iat in the future", f.issuer.sign(t, "RS256-1", gh(func(c map[string]any) { c["iat"] = now.Add(31 * time.Second).Unix() })), "iat is in the future"},
		{"too old", f.issuer.sign(t, "RS256-1", gh(func(c map[string]any) { c["iat"] = now.Add(-25 * time.Hour).Unix() })), "issued more than"},
		{"no sub", f.issuer.sign(t, "RS256-1", gh(func(c map[string]any) { delete(c, "sub") })), "no sub"},
		{"condition false", f.issuer.sign(t, "RS256-1", gh(func(c map[string]any) { c["ref"] = "refs/heads/feature" })), "condition is false"},
		{"condition error", f.issuer.sign(t, "RS256-1", gh(func(c map[string]any) { delete(c, "repository") })), "could not be evaluated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.exchange(tr, tc.token)
			wantTokenError(t, err, authority.ErrInvalidGrant, tc.desc)
			// The description never quotes the trust's configuration.
			var te *authority.TokenError
			errors.As(err, &te)
			for _, secretish := range []string{"acme/connectors", "refs/heads/main", tr.Issuer} {
				if strings.Contains(te.Description, secretish) {
					t.Errorf("description %q quotes the trust's configuration (%q)", te.Description, secretish)
				}
			}
		})
	}
	// Skew: 29 s past exp still passes the check, and the token cannot be
	// minted past the subject's exp; 29 s early nbf passes.
	t.Run("within skew", func(t *testing.T) {
		tok := f.issuer.sign(t, "RS256-1", gh(func(c map[string]any) { c["nbf"] = now.Add(29 * time.Second).Unix() }))
		if _, err := f.exchange(tr, tok); err != nil {
			t.Fatal(err)
		}
	})
}

func unsigned(claims map[string]any) string {
	return b64json(map[string]any{"alg": "none", "typ": "JWT", "kid": "RS256-1"}) + "." + b64json(claims) + "."
}

func hmacSigned(t testing.TB, claims map[string]any) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, (&jose.SignerOptions{}).WithHeader("kid", "RS256-1"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign([]byte(mustJSON(claims)))
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestKeyRotation: a token signed with a key the issuer published after
// the cache filled is accepted after one refetch; a flood of unknown kids
// costs the issuer at most one fetch per refetch interval.
func TestKeyRotation(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	tr := f.trust(t, ghCondition)
	if _, err := f.exchange(tr, f.issuer.sign(t, "RS256-1", githubClaims(f.issuer.url(), f.aud, now))); err != nil {
		t.Fatal(err)
	}
	hits := f.issuer.jwksHits.Load()
	if hits != 1 {
		t.Fatalf("JWKS fetches after the first exchange: got %d, want 1", hits)
	}
	// The issuer rotates; the cache is fresh but lacks the new kid. The
	// last fetch was under the interval ago, so the first token with the
	// new kid waits for the interval to pass.
	f.issuer.addKey(t, "RS256-2", jose.RS256)
	f.issuer.removeKey("RS256-1")
	other := newSigner(t, jose.RS256)
	for i := range 50 {
		tok := signWith(t, jose.RS256, other, fmt.Sprintf("flood-%d", i), githubClaims(f.issuer.url(), f.aud, now))
		_, err := f.exchange(tr, tok)
		wantTokenError(t, err, authority.ErrInvalidGrant, "unknown key")
	}
	if got := f.issuer.jwksHits.Load(); got != hits {
		t.Errorf("JWKS fetches during an unknown-kid flood within the interval: got %d more, want 0", got-hits)
	}
	f.clock.Advance(time.Minute)
	now = f.clock.Now()
	for range 50 {
		tok := signWith(t, jose.RS256, other, "flood", githubClaims(f.issuer.url(), f.aud, now))
		_, _ = f.exchange(tr, tok)
	}
	if got := f.issuer.jwksHits.Load(); got != hits+1 {
		t.Errorf("JWKS fetches for 50 unknown kids after the interval: got %d more, want 1", got-hits)
	}
	f.clock.Advance(time.Minute)
	now = f.clock.Now()
	if _, err := f.exchange(tr, f.issuer.sign(t, "RS256-2", githubClaims(f.issuer.url(), f.aud, now))); err != nil {
		t.Fatalf("token signed with the rotated-in key: %v", err)
	}
}

// TestIssuerDown: keys are served stale while the issuer is down, up to
// MaxStale, then refused.
func TestIssuerDown(t *testing.T) {
	f := newFixture(t)
	tr := f.trust(t, ghCondition)
	sign := func() string {
		return f.issuer.sign(t, "ES256-1", githubClaims(f.issuer.url(), f.aud, f.clock.Now()))
	}
	if _, err := f.exchange(tr, sign()); err != nil {
		t.Fatal(err)
	}
	f.issuer.setDown(true)
	f.clock.Advance(time.Hour) // past the TTL: a refetch is tried and fails
	if _, err := f.exchange(tr, sign()); err != nil {
		t.Fatalf("issuer down, keys an hour old: %v; want them served stale", err)
	}
	f.clock.Advance(24 * time.Hour)
	_, err := f.exchange(tr, sign())
	wantTokenError(t, err, authority.ErrInvalidGrant, "could not be fetched")
	f.issuer.setDown(false)
	f.clock.Advance(time.Minute)
	if _, err := f.exchange(tr, sign()); err != nil {
		t.Fatalf("issuer back: %v", err)
	}
}

// TestCascade: tokens minted through a trust stop working when the trust,
// its connector or its app is deleted.
func TestCascade(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		name string
		del  func(tr Trust) error
	}{
		{"trust deleted", func(tr Trust) error { _, err := f.svc.DeleteTrust(f.admin, tr.ID); return err }},
		{"connector deleted", func(tr Trust) error { return f.auth.DeleteConnector(f.admin, tr.AppID, tr.ConnectorID) }},
		{"app deleted", func(tr Trust) error { return f.auth.DeleteApp(f.admin, tr.AppID) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := f.trust(t, ghCondition)
			subject := f.issuer.sign(t, "RS256-1", githubClaims(f.issuer.url(), f.aud, f.clock.Now()))
			res, err := f.exchange(tr, subject)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.auth.Authenticate(context.Background(), res.Token.AccessToken); err != nil {
				t.Fatal(err)
			}
			if err := tc.del(tr); err != nil {
				t.Fatal(err)
			}
			f.clock.Advance(time.Second) // the cache TTL: the bound for deletes this node was not told of
			_, err = f.auth.Authenticate(context.Background(), res.Token.AccessToken)
			if got := conncred.ErrorCode(err); got != conncred.EUnauthenticated {
				t.Errorf("token after the delete: got %v, want unauthenticated", err)
			}
			_, err = f.exchange(tr, subject)
			wantTokenError(t, err, authority.ErrInvalidClient, "deleted")
		})
	}
}

// TestAdminTrust: an admin trust's token is an admin.
func TestAdminTrust(t *testing.T) {
	f := newFixture(t)
	tr, err := f.svc.CreateTrust(f.admin, TrustInput{Issuer: f.issuer.url(), Condition: `claims.sub.startsWith("repo:acme/")`, Role: RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.exchange(tr, f.issuer.sign(t, "EdDSA-1", githubClaims(f.issuer.url(), f.aud, f.clock.Now())))
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.auth.Authenticate(context.Background(), res.Token.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if !p.IsAdmin() || p.ClientID != tr.ClientID {
		t.Errorf("principal: got %+v, want an admin as %s", p, tr.ClientID)
	}
}
