package secret

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateRoundTrip(t *testing.T) {
	pub, s, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Reveal(), "secret-token:conncred:v1:") {
		t.Fatalf("secret prefix: got %q", s.Reveal()[:25])
	}
	priv, err := Parse(s.Reveal())
	if err != nil {
		t.Fatalf("Parse(Generate()): %v", err)
	}
	if !pub.Equal(priv.Public()) {
		t.Fatal("parsed key does not match generated public key")
	}
	// The JWK carries exactly kty, crv, x, d, like ConductorOne's secrets.
	raw, _ := base64.RawURLEncoding.DecodeString(strings.SplitN(s.Reveal(), ":", 4)[3])
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != 4 || m["kty"] != "OKP" || m["crv"] != "Ed25519" || m["x"] == "" || m["d"] == "" {
		t.Fatalf("JWK members: got %v", m)
	}
}

func TestSecretDoesNotPrint(t *testing.T) {
	_, s, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	slog.New(slog.NewJSONHandler(&sb, nil)).Info("x", "secret", s)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s), sb.String()} {
		if strings.Contains(out, s.Reveal()) || strings.Contains(out, "secret-token") {
			t.Errorf("secret leaked into %q", out)
		}
	}
	if _, err := json.Marshal(struct{ S Secret }{s}); err == nil {
		t.Error("json.Marshal of a Secret succeeded; want refusal")
	}
}

// interopVector is the subset of testdata/interop/*.json these tests read.
type interopVector struct {
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	PublicKeyX   string `json:"public_key_x"`
}

func TestParseInteropSecrets(t *testing.T) {
	files, err := filepath.Glob("../testdata/interop/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no interop vectors: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var v interopVector
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			// ConductorOne's namespace parses too: only "v1" is checked.
			priv, err := Parse(v.ClientSecret)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := base64.RawURLEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
			if got != v.PublicKeyX {
				t.Fatalf("public key: got %s, want %s", got, v.PublicKeyX)
			}
			id, err := ParseClientID(v.ClientID)
			if err != nil {
				t.Fatalf("ParseClientID: %v", err)
			}
			if id.String() != v.ClientID {
				t.Fatalf("client id round trip: got %q, want %q", id, v.ClientID)
			}
		})
	}
}

func jwkSecret(t *testing.T, ns string, jwk map[string]string) string {
	t.Helper()
	b, err := json.Marshal(jwk)
	if err != nil {
		t.Fatal(err)
	}
	return "secret-token:" + ns + ":v1:" + base64.RawURLEncoding.EncodeToString(b)
}

func TestParseAcceptsOptionalMembers(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	x := base64.RawURLEncoding.EncodeToString(pub)
	d := base64.RawURLEncoding.EncodeToString(priv.Seed())
	for name, jwk := range map[string]map[string]string{
		"plain":    {"kty": "OKP", "crv": "Ed25519", "x": x, "d": d},
		"with alg": {"kty": "OKP", "crv": "Ed25519", "x": x, "d": d, "alg": "EdDSA"},
		"with kid": {"kty": "OKP", "crv": "Ed25519", "x": x, "d": d, "kid": "abc", "use": "sig"},
	} {
		if _, err := Parse(jwkSecret(t, "conductorone.com", jwk)); err != nil {
			t.Errorf("%s: Parse: %v", name, err)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	otherPub, _, _ := ed25519.GenerateKey(nil)
	x := base64.RawURLEncoding.EncodeToString(pub)
	d := base64.RawURLEncoding.EncodeToString(priv.Seed())
	good := jwkSecret(t, "conncred", map[string]string{"kty": "OKP", "crv": "Ed25519", "x": x, "d": d})
	body := strings.SplitN(good, ":", 4)[3]
	for name, in := range map[string]string{
		"empty":          "",
		"three parts":    "secret-token:conncred:" + body,
		"version v2":     "secret-token:conncred:v2:" + body,
		"padded base64":  "secret-token:conncred:v1:" + base64.URLEncoding.EncodeToString([]byte(`{"kty":"OKP"}`)) + "==",
		"std base64":     "secret-token:conncred:v1:" + strings.NewReplacer("-", "+", "_", "/").Replace(body) + "+/",
		"not json":       "secret-token:conncred:v1:" + base64.RawURLEncoding.EncodeToString([]byte("not json")),
		"public only":    jwkSecret(t, "conncred", map[string]string{"kty": "OKP", "crv": "Ed25519", "x": x}),
		"x mismatch":     jwkSecret(t, "conncred", map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(otherPub), "d": d}),
		"wrong curve":    jwkSecret(t, "conncred", map[string]string{"kty": "OKP", "crv": "X25519", "x": x, "d": d}),
		"symmetric key":  jwkSecret(t, "conncred", map[string]string{"kty": "oct", "k": d}),
		"oversized":      "secret-token:conncred:v1:" + strings.Repeat("A", MaxLen),
		"short d":        jwkSecret(t, "conncred", map[string]string{"kty": "OKP", "crv": "Ed25519", "x": x, "d": "AAAA"}),
		"trailing colon": good + ":",
	} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("%s: Parse succeeded; want error", name)
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v does not wrap ErrMalformed", name, err)
		}
		if len(in) > 40 && strings.Contains(err.Error(), in[25:40]) {
			t.Errorf("%s: error quotes the input: %v", name, err)
		}
	}
}

func TestThumbprintRFC7638(t *testing.T) {
	// RFC 8037 appendix A.3: the thumbprint of its example Ed25519 key.
	x, _ := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	const want = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
	if got := Thumbprint(ed25519.PublicKey(x)); got != want {
		t.Fatalf("Thumbprint: got %s, want %s", got, want)
	}
}

func TestParseClientID(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    ClientID
		wantErr bool
	}{
		{in: "brave-falcon-40213@127.0.0.1:8443/ccc", want: ClientID{"brave-falcon-40213", "127.0.0.1:8443", "ccc"}},
		{in: "x@c1.example.test/pcc/extra", want: ClientID{"x", "c1.example.test", "pcc/extra"}},
		{in: "a@b@c/d", want: ClientID{"a", "b@c", "d"}},
		{in: "no-at-sign/ccc", wantErr: true},
		{in: "@host/ccc", wantErr: true},
		{in: "name@/ccc", wantErr: true},
		{in: "name@host", wantErr: true},
		{in: "name@host/", wantErr: true},
		{in: "name @host/ccc", wantErr: true},
		{in: "name@host/ccc\n", wantErr: true},
		{in: "name@host/\xff", wantErr: true},
		{in: strings.Repeat("a", MaxClientIDLen) + "@h/c", wantErr: true},
	} {
		got, err := ParseClientID(tc.in)
		if tc.wantErr {
			if !errors.Is(err, ErrBadClientID) {
				t.Errorf("ParseClientID(%q): err %v, want ErrBadClientID", tc.in, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseClientID(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestCutename(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 200; i++ {
		n, err := Cutename()
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(n, "-")
		if len(parts) != 3 || len(parts[2]) != 5 {
			t.Fatalf("Cutename() = %q; want adjective-noun-NNNNN", n)
		}
		seen[n] = true
	}
	if len(seen) < 190 {
		t.Fatalf("only %d distinct names in 200", len(seen))
	}
}
