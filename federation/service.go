package federation

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/clock"
)

// Config holds the federation settings. Zero values take the defaults noted.
type Config struct {
	// PublicHost is the server's host[:port]; trust client ids carry it.
	PublicHost string
	// CacheTTL bounds how long a trust looked up for an exchange or an API
	// call is used without asking the store again (default 1s): the
	// backstop for deletes on other nodes whose notice was lost.
	CacheTTL time.Duration
	// ClockSkew is the leeway on a subject token's exp, nbf and iat
	// (default 30s).
	ClockSkew time.Duration
	// MaxSubjectTokenAge refuses subject tokens issued longer ago (by iat;
	// default 24h, which admits Kubernetes' rotated projected tokens).
	MaxSubjectTokenAge time.Duration
	// Keys configures the issuer key cache.
	Keys KeyConfig
	// Observer receives the federation's metrics; nil: none.
	Observer Observer
}

// Observer is told what the federation does, for metrics. Its label values
// come from closed sets, so the series stay bounded whatever callers send.
type Observer interface {
	// TrustExchange is called once per token exchange: outcome is
	// authority.OutcomeIssued, OutcomeRefused or OutcomeError, and code
	// the RFC 6749/8693 error code of a refusal ("" otherwise).
	TrustExchange(outcome, code string)
	// IssuerKeyFetch is called after each fetch of an issuer's discovery
	// document and JWKS, with its error (nil: the keys were replaced).
	IssuerKeyFetch(err error)
}

type nopObserver struct{}

func (nopObserver) TrustExchange(string, string) {}
func (nopObserver) IssuerKeyFetch(error)         {}

func (c *Config) setDefaults() {
	if c.CacheTTL <= 0 {
		c.CacheTTL = time.Second
	}
	if c.ClockSkew <= 0 {
		c.ClockSkew = 30 * time.Second
	}
	if c.MaxSubjectTokenAge <= 0 {
		c.MaxSubjectTokenAge = 24 * time.Hour
	}
	c.Keys.setDefaults()
}

// Service applies the federation rules: trust management for admins, the
// token exchange for workloads, and the check of trust-minted tokens on
// every call (authority.GrantChecker).
type Service struct {
	cfg   Config
	store Store
	auth  *authority.Authority
	clock clock.Clock
	log   *slog.Logger
	keys  *keyCache
	cache *trustCache

	touchMu sync.Mutex
	touched map[string]time.Time // last lastUsedAt write per trust
	touchWG sync.WaitGroup

	stop context.CancelFunc
	done chan struct{}
}

// lastUsedEvery is how often a trust's lastUsedAt is written at most: the
// exchange never waits for it, and a busy trust costs one write a second.
const lastUsedEvery = time.Second

// New returns a Service over store and installs it as auth's grant checker.
// When store is also a conncred.RevocationWatcher (PostgreSQL), trust
// deletes made on other nodes drop this node's cache at once. Close stops it.
func New(cfg Config, store Store, auth *authority.Authority, clk clock.Clock, log *slog.Logger) *Service {
	cfg.setDefaults()
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if clk == nil {
		clk = clock.Real{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{
		cfg: cfg, store: store, auth: auth, clock: clk, log: log,
		keys:    newKeyCache(cfg.Keys, clk, cfg.Observer),
		cache:   newTrustCache(store, clk, cfg.CacheTTL),
		touched: map[string]time.Time{},
		done:    make(chan struct{}),
	}
	bg, stop := context.WithCancel(context.Background())
	s.stop = stop
	go func() {
		defer close(s.done)
		if w, ok := store.(conncred.RevocationWatcher); ok {
			_ = w.WatchRevocations(bg, s.cache.invalidate)
		}
	}()
	auth.SetGrantChecker(s)
	return s
}

// Close stops the background work and waits for pending lastUsedAt writes.
func (s *Service) Close() error {
	s.stop()
	<-s.done
	s.touchWG.Wait()
	return nil
}

// Audit event kinds of trusts.
const (
	AuditTrustCreated = "trust.created"
	AuditTrustUpdated = "trust.updated"
	AuditTrustDeleted = "trust.deleted"
)

// CheckGrant implements authority.GrantChecker: the trust a token was
// minted through must still exist and grant (not deleted, nor its
// connector or app).
func (s *Service) CheckGrant(ctx context.Context, id string) (authority.Grant, error) {
	e, err := s.cache.get(ctx, id)
	if err != nil {
		if conncred.ErrorCode(err) == conncred.ENotFound {
			return authority.Grant{}, conncred.Errorf(conncred.EUnauthenticated, "the workload federation trust this token was minted through no longer exists")
		}
		return authority.Grant{}, err
	}
	if e.trust.DeletedAt != nil {
		return authority.Grant{}, conncred.Errorf(conncred.EUnauthenticated, "the workload federation trust this token was minted through has been deleted (or its connector or app has)")
	}
	return grantOf(e.trust, "", ""), nil
}

func grantOf(t Trust, subject, issuer string) authority.Grant {
	kind := conncred.KindConnector
	if t.Role == RoleAdmin {
		kind = conncred.KindAdmin
	}
	return authority.Grant{
		ID: t.ID, ClientID: t.ClientID, Kind: kind, AppID: t.AppID, ConnectorID: t.ConnectorID,
		Subject: subject, SubjectIssuer: issuer, MaxLifetime: t.MaxTokenLifetime,
	}
}

// touch writes the trust's lastUsedAt behind the exchange, at most once per
// lastUsedEvery per trust.
func (s *Service) touch(id string, at time.Time) {
	s.touchMu.Lock()
	if last, ok := s.touched[id]; ok && at.Sub(last) < lastUsedEvery {
		s.touchMu.Unlock()
		return
	}
	if len(s.touched) > 100_000 {
		clear(s.touched) // bounded: forgetting costs at most one extra write per trust
	}
	s.touched[id] = at
	s.touchMu.Unlock()
	s.touchWG.Add(1)
	go func() {
		defer s.touchWG.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.store.TouchTrust(ctx, id, at); err != nil {
			s.log.Warn("writing a trust's lastUsedAt", "trust_id", id, "err", err)
		}
	}()
}

// validIssuer checks an issuer URL as OIDC discovery needs it: https, a
// host, no query or fragment. Plain http is allowed only for loopback hosts
// when the key cache allows it (tests).
func (s *Service) validIssuer(iss string) error {
	u, err := url.Parse(iss)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return conncred.Errorf(conncred.EInvalid, "issuer must be an https URL such as https://token.actions.githubusercontent.com, without query or fragment")
	}
	if err := s.keys.allowedURL(u); err != nil {
		return conncred.Errorf(conncred.EInvalid, "issuer: %v", err)
	}
	if len(iss) > 512 || strings.HasSuffix(iss, "/.well-known/openid-configuration") {
		return conncred.Errorf(conncred.EInvalid, "issuer must be the issuer URL exactly as the tokens' iss claim says it (at most 512 bytes), not its discovery document")
	}
	return nil
}

// ValidIssuer reports whether iss may be a trust's issuer on this server
// (https, or loopback http behind the test flag), with an error that says
// what to fix.
func (s *Service) ValidIssuer(iss string) error { return s.validIssuer(iss) }
