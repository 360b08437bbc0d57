package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/conncred/conncred/clock"
	jose "github.com/go-jose/go-jose/v4"
)

// KeyConfig configures the issuer key cache. Zero values take the defaults
// noted.
type KeyConfig struct {
	// TTL is how long an issuer's keys are used without fetching them again
	// (default 15m).
	TTL time.Duration
	// RefetchInterval is the least time between two fetches of one issuer
	// (default 1m): a token with an unknown kid triggers a fetch only if
	// none was made within it, so a flood of unknown kids costs the issuer
	// one request per interval, and a failed fetch is not retried sooner.
	RefetchInterval time.Duration
	// MaxStale is how long after the last successful fetch the keys are
	// still served while the issuer cannot be reached (default 24h).
	MaxStale time.Duration
	// Timeout bounds each fetch, discovery and JWKS together (default 5s).
	Timeout time.Duration
	// MaxBytes bounds each fetched document (default 256 KiB).
	MaxBytes int64
	// AllowInsecureLoopback lets issuers on loopback addresses use plain
	// http. It exists for tests; https is required otherwise.
	AllowInsecureLoopback bool
	// HTTPClient makes the fetches (default: a client with the system
	// roots). Its CheckRedirect is replaced: redirects stay on one host.
	HTTPClient *http.Client
}

func (c *KeyConfig) setDefaults() {
	if c.TTL <= 0 {
		c.TTL = 15 * time.Minute
	}
	if c.RefetchInterval <= 0 {
		c.RefetchInterval = time.Minute
	}
	if c.MaxStale <= 0 {
		c.MaxStale = 24 * time.Hour
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Second
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 256 << 10
	}
}

// maxIssuerKeys bounds the keys kept per issuer (real issuers publish a
// handful; a JWKS with thousands would make a kid-less token costly).
const maxIssuerKeys = 100

// Refusals of the key cache, for the exchange to describe.
var (
	errUnknownKey        = errors.New("the subject token's kid is not among the issuer's published keys")
	errIssuerUnavailable = errors.New("the issuer's signing keys could not be fetched")
)

// keyCache holds each issuer's verification keys.
type keyCache struct {
	cfg   KeyConfig
	clock clock.Clock
	obs   Observer
	http  *http.Client

	mu      sync.Mutex
	issuers map[string]*issuerKeys
}

// issuerKeys is one issuer's entry. mu serializes its fetches, so
// concurrent misses make one request, not many.
type issuerKeys struct {
	fetchMu sync.Mutex

	mu      sync.Mutex
	keys    []jose.JSONWebKey
	fetched time.Time // last successful fetch (zero: never)
	tried   time.Time // last attempt (zero: never)
	lastErr error
}

func newKeyCache(cfg KeyConfig, clk clock.Clock, obs Observer) *keyCache {
	c := &keyCache{cfg: cfg, clock: clk, obs: obs, issuers: map[string]*issuerKeys{}}
	var base http.Client
	if cfg.HTTPClient != nil {
		base = *cfg.HTTPClient
	}
	base.Timeout = cfg.Timeout
	base.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		if req.URL.Host != via[0].URL.Host {
			return fmt.Errorf("redirect to another host (%s) refused", req.URL.Host)
		}
		return c.allowedURL(req.URL)
	}
	c.http = &base
	return c
}

// allowedURL refuses what conncred never fetches keys from: anything but
// https, except http to a loopback host when the test option allows it.
func (c *keyCache) allowedURL(u *url.URL) error {
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && c.cfg.AllowInsecureLoopback && isLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%s:// URLs are not allowed; use https", u.Scheme)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *keyCache) entry(issuer string) *issuerKeys {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.issuers[issuer]
	if !ok {
		// Issuers come from trusts, which admins create, so the map is
		// bounded by their number; a cap keeps a mistake from growing it.
		if len(c.issuers) >= 10_000 {
			clear(c.issuers)
		}
		e = &issuerKeys{}
		c.issuers[issuer] = e
	}
	return e
}

// keys returns the issuer's keys that may have signed a token with kid
// (every key when kid is empty). It fetches when the keys are missing,
// older than the TTL, or lack kid, but never twice within the refetch
// interval; while the issuer is down it serves keys up to MaxStale old.
func (c *keyCache) keys(ctx context.Context, issuer, kid string) ([]jose.JSONWebKey, error) {
	e := c.entry(issuer)
	now := c.clock.Now()
	e.mu.Lock()
	keys, fetched := e.keys, e.fetched
	e.mu.Unlock()
	if !fetched.IsZero() && now.Sub(fetched) < c.cfg.TTL {
		if ks := match(keys, kid); len(ks) > 0 {
			return ks, nil
		}
	}
	// Missing, stale, or no such kid: fetch unless one was tried lately.
	// A failed fetch leaves the last keys in place; they are served below
	// while within MaxStale.
	if err := c.refresh(ctx, issuer, e); err != nil && !errors.Is(err, errTooSoon) {
		e.mu.Lock()
		fetched = e.fetched
		e.mu.Unlock()
		if fetched.IsZero() || now.Sub(fetched) >= c.cfg.MaxStale {
			return nil, fmt.Errorf("%w: %v", errIssuerUnavailable, err)
		}
	}
	e.mu.Lock()
	keys, fetched, lastErr := e.keys, e.fetched, e.lastErr
	e.mu.Unlock()
	if fetched.IsZero() {
		return nil, fmt.Errorf("%w: %v", errIssuerUnavailable, lastErr)
	}
	if now.Sub(fetched) >= c.cfg.MaxStale {
		return nil, fmt.Errorf("%w: the keys last fetched are too old", errIssuerUnavailable)
	}
	ks := match(keys, kid)
	if len(ks) == 0 {
		return nil, errUnknownKey
	}
	return ks, nil
}

var errTooSoon = errors.New("fetched within the refetch interval")

// refresh fetches the issuer's keys unless a fetch was tried within the
// refetch interval.
func (c *keyCache) refresh(ctx context.Context, issuer string, e *issuerKeys) error {
	e.fetchMu.Lock()
	defer e.fetchMu.Unlock()
	now := c.clock.Now()
	e.mu.Lock()
	tried := e.tried
	e.mu.Unlock()
	if !tried.IsZero() && now.Sub(tried) < c.cfg.RefetchInterval && now.Sub(tried) >= 0 {
		return errTooSoon
	}
	keys, err := c.fetch(ctx, issuer)
	c.obs.IssuerKeyFetch(err)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tried = now
	e.lastErr = err
	if err != nil {
		return err
	}
	e.keys, e.fetched = keys, now
	return nil
}

func match(keys []jose.JSONWebKey, kid string) []jose.JSONWebKey {
	if kid == "" {
		return keys
	}
	for _, k := range keys {
		if k.KeyID == kid {
			return []jose.JSONWebKey{k}
		}
	}
	return nil
}

// fetch reads the issuer's discovery document and then its JWKS. Only
// public signing keys are kept.
func (c *keyCache) fetch(ctx context.Context, issuer string) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := c.getJSON(ctx, strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	if doc.Issuer != issuer {
		return nil, fmt.Errorf("discovery document names issuer %q, not %q", truncate(doc.Issuer), truncate(issuer))
	}
	u, err := url.Parse(doc.JWKSURI)
	if err != nil || u.Host == "" {
		return nil, errors.New("discovery document has no valid jwks_uri")
	}
	if err := c.allowedURL(u); err != nil {
		return nil, fmt.Errorf("jwks_uri: %w", err)
	}
	var set jose.JSONWebKeySet
	if err := c.getJSON(ctx, u.String(), &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	var keys []jose.JSONWebKey
	for _, k := range set.Keys {
		if (k.Use != "" && k.Use != "sig") || !k.Valid() || !k.IsPublic() {
			continue
		}
		keys = append(keys, k)
		if len(keys) == maxIssuerKeys {
			break
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("the JWKS holds no public signing key")
	}
	return keys, nil
}

func (c *keyCache) getJSON(ctx context.Context, u string, v any) error {
	pu, err := url.Parse(u)
	if err != nil {
		return err
	}
	if err := c.allowedURL(pu); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", pu.Host, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.cfg.MaxBytes+1))
	if err != nil {
		return err
	}
	if int64(len(b)) > c.cfg.MaxBytes {
		return fmt.Errorf("document larger than %d bytes", c.cfg.MaxBytes)
	}
	return json.Unmarshal(b, v)
}

func truncate(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}
