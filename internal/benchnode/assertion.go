package benchnode

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/conncred/conncred/internal/hostport"
	"github.com/conncred/conncred/secret"
)

// Credential is a client id and its secret, in the shape of the server's
// admin-credential.json.
type Credential struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
}

// LoadCredential reads a credential file such as admin-credential.json.
func LoadCredential(path string) (Credential, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Credential{}, err
	}
	var c Credential
	if err := json.Unmarshal(b, &c); err != nil {
		return Credential{}, fmt.Errorf("%s: %w", path, err)
	}
	if c.ClientID == "" || c.ClientSecret == "" {
		return Credential{}, fmt.Errorf("%s: want {\"clientId\",\"clientSecret\"}", path)
	}
	return c, nil
}

// Signer signs client assertions for one credential the way ConductorOne's
// clients do (docs/PROTOCOL.md §3.1): header {"alg":"EdDSA","nonce":<32 hex>}
// with a fresh nonce, claims iss = sub = client id, aud = [client id host
// without port], iat = now, nbf = now - 120 s, exp = now + 120 s. The JSON
// around the parts that change is built once, so the generator spends its
// share of the machine on the signature, as a real client's cost would be.
type Signer struct {
	clientID string
	priv     ed25519.PrivateKey
	// claimsHead is `{"aud":["host"],"iss":"id","sub":"id","iat":` and
	// formPrefix the token request form up to the assertion's value.
	claimsHead []byte
	formPrefix string
}

// NewSigner parses c's secret and client id.
func NewSigner(c Credential) (*Signer, error) {
	priv, err := secret.Parse(c.ClientSecret)
	if err != nil {
		return nil, err
	}
	id, err := secret.ParseClientID(c.ClientID)
	if err != nil {
		return nil, err
	}
	aud := hostport.Audience(id.Host)
	qid, _ := json.Marshal(c.ClientID)
	qaud, _ := json.Marshal(aud)
	head := fmt.Sprintf(`{"aud":[%s],"iss":%s,"sub":%s,"iat":`, qaud, qid, qid)
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {c.ClientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
	}
	return &Signer{
		clientID:   c.ClientID,
		priv:       priv,
		claimsHead: []byte(head),
		formPrefix: form.Encode() + "&client_assertion=",
	}, nil
}

// ClientID returns the signer's client id.
func (s *Signer) ClientID() string { return s.clientID }

// Assertion returns a freshly signed assertion, valid around now.
func (s *Signer) Assertion(now time.Time) string {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	var hdr [len(`{"alg":"EdDSA","nonce":""}`) + 32]byte
	h := append(hdr[:0], `{"alg":"EdDSA","nonce":"`...)
	h = hex.AppendEncode(h, nonce[:])
	h = append(h, `"}`...)

	t := now.Unix()
	c := make([]byte, 0, len(s.claimsHead)+64)
	c = append(c, s.claimsHead...)
	c = strconv.AppendInt(c, t, 10)
	c = append(c, `,"nbf":`...)
	c = strconv.AppendInt(c, t-120, 10)
	c = append(c, `,"exp":`...)
	c = strconv.AppendInt(c, t+120, 10)
	c = append(c, '}')

	enc := base64.RawURLEncoding
	buf := make([]byte, 0, enc.EncodedLen(len(h))+enc.EncodedLen(len(c))+enc.EncodedLen(ed25519.SignatureSize)+2)
	buf = enc.AppendEncode(buf, h)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, c)
	sig := ed25519.Sign(s.priv, buf)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf)
}

// TokenForm returns a token request body (application/x-www-form-urlencoded)
// carrying a fresh assertion. The assertion needs no escaping: base64url
// and '.' are form-safe.
func (s *Signer) TokenForm(now time.Time) string {
	return s.formPrefix + s.Assertion(now)
}
