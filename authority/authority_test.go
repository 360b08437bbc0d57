package authority

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/store/sqlite"
)

var t0 = time.Date(2026, 11, 28, 17, 0, 0, 0, time.UTC)

type fixture struct {
	a     *Authority
	store conncred.Store
	clock *clock.Fake
	admin context.Context
}

func newFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "conncred.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(t0)
	a, err := New(ctx, cfg, st, clk, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return &fixture{a: a, store: st, clock: clk, admin: conncred.WithPrincipal(ctx, conncred.System)}
}

// connector makes an app and a connector under it.
func (f *fixture) connector(t testing.TB) conncred.Connector {
	t.Helper()
	app, err := f.a.CreateApp(f.admin, AppInput{DisplayName: "Okta"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := f.a.CreateConnector(f.admin, app.ID, ConnectorInput{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantCode(t testing.TB, err error, code string) {
	t.Helper()
	if got := conncred.ErrorCode(err); got != code {
		t.Fatalf("error code: got %q (%v), want %q", got, err, code)
	}
}

// assertion builds a client assertion the way the official clients do.
type assertion struct {
	header map[string]any
	claims map[string]any
}

func officialAssertion(clientID, aud string, now time.Time) assertion {
	return assertion{
		header: map[string]any{"alg": "EdDSA", "nonce": base64.RawURLEncoding.EncodeToString([]byte(now.String()))[:32]},
		claims: map[string]any{
			"iss": clientID, "sub": clientID, "aud": []string{aud},
			"iat": now.Unix(), "nbf": now.Add(-2 * time.Minute).Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		},
	}
}

func (as assertion) sign(t testing.TB, priv ed25519.PrivateKey) string {
	t.Helper()
	s, err := signJWS(signWith(priv), as.header, as.claims)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func tokenReq(clientID, assertion string) TokenRequest {
	return TokenRequest{GrantType: GrantClientCredentials, ClientID: clientID, AssertionType: AssertionTypeJWTBearer, Assertion: assertion}
}

// interopVector is one file of testdata/interop.
type interopVector struct {
	CapturedAt   time.Time `json:"captured_at"`
	PublicHost   string    `json:"public_host"`
	ClientID     string    `json:"client_id"`
	ClientSecret string    `json:"client_secret"`
	PublicKeyX   string    `json:"public_key_x"`
	Request      struct {
		Form map[string]string `json:"form"`
	} `json:"request"`
}

func loadVectors(t testing.TB) map[string]interopVector {
	t.Helper()
	files, err := filepath.Glob("../testdata/interop/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no interop vectors: %v", err)
	}
	out := map[string]interopVector{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v interopVector
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = v
	}
	return out
}

func (v interopVector) request() TokenRequest {
	f := v.Request.Form
	return TokenRequest{GrantType: f["grant_type"], ClientID: f["client_id"], AssertionType: f["client_assertion_type"], Assertion: f["client_assertion"]}
}
