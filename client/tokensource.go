// Package client is a Go client for conncred: an oauth2.TokenSource that
// authenticates the way ConductorOne's official clients do, and a typed API
// client built on it. It imports no server-side package.
package client

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/dpop"
	"github.com/conncred/conncred/internal/hostport"
	"github.com/conncred/conncred/secret"
	"golang.org/x/oauth2"
)

// Option configures a TokenSource or Client.
type Option func(*options)

type options struct {
	serverURL string
	hc        *http.Client
	clock     clock.Clock
	dpop      *dpop.Signer
}

// WithServerURL sets the server's base URL (https://host:port). Without it
// the URL comes from the client id's host, as the official clients do.
func WithServerURL(u string) Option {
	return func(o *options) { o.serverURL = strings.TrimRight(u, "/") }
}

// WithHTTPClient sets the HTTP client (for a custom CA, a proxy, timeouts).
func WithHTTPClient(hc *http.Client) Option { return func(o *options) { o.hc = hc } }

// WithClock sets the clock assertions are dated by.
func WithClock(c clock.Clock) Option { return func(o *options) { o.clock = c } }

func buildOptions(clientID string, opts []Option) (options, error) {
	o := options{hc: &http.Client{Timeout: 60 * time.Second}, clock: clock.Real{}}
	for _, f := range opts {
		f(&o)
	}
	if o.serverURL == "" {
		id, err := secret.ParseClientID(clientID)
		if err != nil {
			return o, err
		}
		o.serverURL = "https://" + id.Host
	}
	u, err := url.Parse(o.serverURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return o, fmt.Errorf("server URL %q must be https://host[:port]", o.serverURL)
	}
	return o, nil
}

// assertionSource mints an access token per call by signing a fresh client
// assertion: the JWS header is {"alg":"EdDSA","nonce":<32 hex>} with no kid,
// and the claims are iss = sub = client id, aud = the server host without
// port, iat = now, nbf = now - 120 s, exp = now + 120 s, exactly as
// ConductorOne's SDK, baton-sdk and cone build them.
type assertionSource struct {
	clientID string
	key      ed25519.PrivateKey
	tokenURL string
	aud      string
	hc       *http.Client
	clock    clock.Clock
	dpop     *dpop.Signer // nil: Bearer tokens
	nonces   *nonceBox
}

// NewTokenSource returns a token source for a client credential. Tokens are
// reused until ten seconds before they expire.
func NewTokenSource(clientID, clientSecret string, opts ...Option) (oauth2.TokenSource, error) {
	src, err := newAssertionSource(clientID, clientSecret, opts)
	if err != nil {
		return nil, err
	}
	return oauth2.ReuseTokenSourceWithExpiry(nil, src, 10*time.Second), nil
}

func newAssertionSource(clientID, clientSecret string, opts []Option) (*assertionSource, error) {
	key, err := secret.Parse(clientSecret)
	if err != nil {
		return nil, err
	}
	o, err := buildOptions(clientID, opts)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(o.serverURL)
	aud := hostport.Audience(u.Host)
	return &assertionSource{clientID: clientID, key: key, tokenURL: o.serverURL + apitype.PathToken, aud: aud, hc: o.hc, clock: o.clock, dpop: o.dpop, nonces: &nonceBox{}}, nil
}

// Assertion signs a fresh client assertion.
func (s *assertionSource) Assertion() (string, error) {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return "", err
	}
	now := s.clock.Now()
	hdr, err := json.Marshal(struct {
		Alg   string `json:"alg"`
		Nonce string `json:"nonce"`
	}{"EdDSA", hex.EncodeToString(nonce[:])})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(struct {
		Iss string   `json:"iss"`
		Sub string   `json:"sub"`
		Aud []string `json:"aud"`
		Exp int64    `json:"exp"`
		Nbf int64    `json:"nbf"`
		Iat int64    `json:"iat"`
	}{s.clientID, s.clientID, []string{s.aud}, now.Add(120 * time.Second).Unix(), now.Add(-120 * time.Second).Unix(), now.Unix()})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	in := enc.EncodeToString(hdr) + "." + enc.EncodeToString(claims)
	return in + "." + enc.EncodeToString(ed25519.Sign(s.key, []byte(in))), nil
}

// Token exchanges a fresh assertion for an access token.
func (s *assertionSource) Token() (*oauth2.Token, error) {
	tr, err := s.exchange(context.Background())
	if err != nil {
		return nil, err
	}
	typ := "Bearer"
	if strings.EqualFold(tr.TokenType, "DPoP") {
		typ = "DPoP"
	}
	return &oauth2.Token{
		AccessToken: tr.AccessToken,
		TokenType:   typ,
		Expiry:      s.clock.Now().Add(time.Duration(tr.ExpiresIn) * time.Second),
	}, nil
}

// TokenError is a refused token request.
type TokenError struct {
	StatusCode  int
	Code        string // RFC 6749 error code
	Description string
}

func (e *TokenError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("token request failed: HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("token request failed: HTTP %d %s: %s", e.StatusCode, e.Code, e.Description)
}

// exchange asks for a token, once more with the server's nonce if it
// refuses the first proof for want of one.
func (s *assertionSource) exchange(ctx context.Context) (apitype.TokenResponse, error) {
	tr, retry, err := s.exchangeOnce(ctx)
	if retry {
		tr, _, err = s.exchangeOnce(ctx)
	}
	return tr, err
}

func (s *assertionSource) exchangeOnce(ctx context.Context) (_ apitype.TokenResponse, retry bool, _ error) {
	tr, resp, err := s.post(ctx)
	if resp != nil && s.dpop != nil {
		retry = s.nonces.update(resp) && err != nil
		var te *TokenError
		retry = retry && errorsAs(err, &te) && te.Code == dpop.ErrUseNonce
	}
	return tr, retry, err
}

func (s *assertionSource) post(ctx context.Context) (apitype.TokenResponse, *http.Response, error) {
	as, err := s.Assertion()
	if err != nil {
		return apitype.TokenResponse{}, nil, err
	}
	form := url.Values{
		"client_id":             {s.clientID},
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {as},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return apitype.TokenResponse{}, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "conncred-client")
	if s.dpop != nil {
		if err := setProof(req, s.dpop, s.nonces, ""); err != nil {
			return apitype.TokenResponse{}, nil, err
		}
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return apitype.TokenResponse{}, nil, fmt.Errorf("token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return apitype.TokenResponse{}, resp, fmt.Errorf("token request: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var oe apitype.OAuthError
		_ = json.Unmarshal(body, &oe)
		return apitype.TokenResponse{}, resp, &TokenError{StatusCode: resp.StatusCode, Code: oe.Error, Description: oe.ErrorDescription}
	}
	var tr apitype.TokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" {
		return apitype.TokenResponse{}, resp, fmt.Errorf("token response is not a token (HTTP 200, %d bytes)", len(body))
	}
	return tr, resp, nil
}
