package lifecycle

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/secret"
)

// Audit event kinds of this package.
const (
	AuditCredentialRetiring = "credential.retiring" // a rotate gave an older credential an expiry
	AuditCredentialSelf     = "credential.self_rotated"
	AuditSourceLimitChanged = "credential.source_limit_changed"
	AuditSessionSettings    = "settings.session_changed"
)

// JWK is a public key brought by the caller: {"kty":"OKP","crv":"Ed25519",
// "x":...}. A private member (d) is refused, so that a secret never reaches
// the server by this path.
type JWK struct {
	Kty string
	Crv string
	X   string
	D   string
}

// publicKey checks k and returns its key.
func (k *JWK) publicKey() (ed25519.PublicKey, error) {
	switch {
	case k.D != "":
		return nil, conncred.Errorf(conncred.EInvalid, "publicKey has a private member (d); send only the public key {kty, crv, x} and keep the private key to yourself")
	case k.Kty != "OKP":
		return nil, conncred.Errorf(conncred.EInvalid, "publicKey.kty must be \"OKP\" (an Ed25519 key), not %q", trunc(k.Kty))
	case k.Crv != "Ed25519":
		return nil, conncred.Errorf(conncred.EInvalid, "publicKey.crv must be \"Ed25519\", not %q", trunc(k.Crv))
	}
	x, err := base64.RawURLEncoding.Strict().DecodeString(k.X)
	if err != nil || len(x) != ed25519.PublicKeySize {
		return nil, conncred.Errorf(conncred.EInvalid, "publicKey.x must be the unpadded base64url of a %d-byte Ed25519 public key", ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(x), nil
}

// CredentialOptions are a new credential's optional name and expiry
// (Expires, a lifetime from now, or ExpiresTime; at most one).
type CredentialOptions struct {
	DisplayName string
	Expires     time.Duration
	ExpiresTime *time.Time
}

// RotateRequest is an admin rotate with the lifecycle options.
type RotateRequest struct {
	AppID, ConnectorID string
	Options            CredentialOptions
	// RetirePreviousAfter, when positive, gives the connector's other
	// usable credentials (or only RetireCredentialID) an expiry this long
	// from now, in the rotate's transaction.
	RetirePreviousAfter time.Duration
	RetireCredentialID  string
	// PublicKey, when set, is the new credential's key: no secret is made.
	PublicKey *JWK
}

// Rotated is a new credential, its secret (zero when the caller brought
// the key) and the credentials the rotate retired.
type Rotated struct {
	Credential conncred.Credential
	Secret     secret.Secret
	HasSecret  bool
	Retired    []conncred.Credential
}

// Rotate adds a credential to a connector, optionally retiring the others
// after a grace and optionally with the caller's public key. Admins only.
func (s *Service) Rotate(ctx context.Context, req RotateRequest) (Rotated, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return Rotated{}, err
	}
	if req.RetirePreviousAfter == 0 && req.RetireCredentialID != "" {
		return Rotated{}, conncred.Errorf(conncred.EInvalid, "retireCredentialId needs retirePreviousAfter (how long it keeps working, e.g. \"24h\")")
	}
	if err := s.checkGrace(ctx, "retirePreviousAfter", req.RetirePreviousAfter, req.AppID, req.ConnectorID); err != nil {
		return Rotated{}, err
	}
	return s.rotate(ctx, req.AppID, req.ConnectorID, req.Options, req.PublicKey, req.RetirePreviousAfter, req.RetireCredentialID, "")
}

// SelfRotateRequest is a connector rotating its own credential.
type SelfRotateRequest struct {
	Options CredentialOptions
	// Grace is how long the credential the caller authenticated with keeps
	// working; 0 takes the default (Config.DefaultGrace).
	Grace     time.Duration
	PublicKey *JWK
}

// SelfRotate gives the connector behind the caller's token a new
// credential and retires the one the token was minted from after a grace.
// The caller proves possession of its key by the token it exchanged for;
// it gets nothing else: no other credential is shown or touched.
func (s *Service) SelfRotate(ctx context.Context, req SelfRotateRequest) (Rotated, error) {
	p, err := requireConnector(ctx)
	if err != nil {
		return Rotated{}, err
	}
	grace := req.Grace
	if grace == 0 {
		// The server's default, not the caller's ask: under a policy
		// that lets credentials live less, the policy's maximum.
		max, _, err := s.maxLifetime(ctx, p.AppID, p.ConnectorID)
		if err != nil {
			return Rotated{}, err
		}
		grace = s.cfg.DefaultGrace
		if max > 0 && grace > max {
			grace = max
		}
	}
	if err := s.checkGrace(ctx, "grace", grace, p.AppID, p.ConnectorID); err != nil {
		return Rotated{}, err
	}
	return s.rotate(ctx, p.AppID, p.ConnectorID, req.Options, req.PublicKey, grace, p.CredentialID, AuditCredentialSelf)
}

// SelfRevoke revokes the credential behind the caller's token.
func (s *Service) SelfRevoke(ctx context.Context) (conncred.Credential, error) {
	if _, err := requireConnector(ctx); err != nil {
		return conncred.Credential{}, err
	}
	return s.auth.RevokeOwn(ctx)
}

// checkGrace refuses a grace that is negative, longer than the server
// allows (Config.MaxGrace), or longer than the connector's policy lets a
// new credential live: a retiring credential would then outlive any
// credential the policy allows, which the policy exists to prevent.
func (s *Service) checkGrace(ctx context.Context, field string, d time.Duration, appID, connectorID string) error {
	switch {
	case d < 0:
		return conncred.Errorf(conncred.EInvalid, "%s must be a positive duration such as \"24h\"", field)
	case d > s.cfg.MaxGrace:
		return conncred.Errorf(conncred.EInvalid, "%s of %s is longer than this server allows (%s)", field, d, s.cfg.MaxGrace)
	}
	if d == 0 {
		return nil
	}
	max, from, err := s.maxLifetime(ctx, appID, connectorID)
	if err != nil || max <= 0 || d <= max {
		return err
	}
	return conncred.Errorf(conncred.EInvalid, "%s of %s is longer than %s allows a credential of this connector to live (%s): the credential it retires would outlive any new one; ask for %s or less",
		field, d, from, max, max)
}

// LifetimeLimiter is authority.LifetimeLimiter (package policy implements
// it): the longest a new credential of a connector may live, 0 for no
// limit, and the words that name where that was set.
type LifetimeLimiter interface {
	MaxLifetime(ctx context.Context, appID, connectorID string) (time.Duration, string, error)
}

type limiterBox struct{ l LifetimeLimiter }

// maxLifetime asks the limiter, if any (0: no limit).
func (s *Service) maxLifetime(ctx context.Context, appID, connectorID string) (time.Duration, string, error) {
	b := s.limiter.Load()
	if b == nil {
		return 0, "", nil
	}
	return b.l.MaxLifetime(ctx, appID, connectorID)
}

// SetLifetimeLimiter caps the grace of every rotate (retirePreviousAfter
// and a self-rotation's grace) at the connector's maximum credential
// lifetime. Set it before serving; nil: only Config.MaxGrace applies.
func (s *Service) SetLifetimeLimiter(l LifetimeLimiter) {
	if l == nil {
		s.limiter.Store(nil)
		return
	}
	s.limiter.Store(&limiterBox{l})
}

// rotate issues the credential through the authority with an insert that
// retires in the same transaction, then audits the creation and each
// retirement.
func (s *Service) rotate(ctx context.Context, appID, connectorID string, opt CredentialOptions, jwk *JWK, grace time.Duration, retireID, kind string) (Rotated, error) {
	var pub ed25519.PublicKey
	if jwk != nil {
		var err error
		if pub, err = jwk.publicKey(); err != nil {
			return Rotated{}, err
		}
		if err := s.keyFree(ctx, pub); err != nil {
			return Rotated{}, err
		}
	}
	var ret Retirement
	if grace > 0 {
		ret = Retirement{At: s.auth.Now().Add(grace), CredentialID: retireID}
	}
	var retired []conncred.Credential
	insert := func(ctx context.Context, c conncred.Credential, limit conncred.ActiveLimit) error {
		var err error
		retired, err = s.store.RotateRetiring(ctx, c, limit, ret)
		if conncred.ErrorCode(err) == conncred.EConflict && pub != nil {
			// The key may have been registered since keyFree looked; the
			// unique index caught it.
			if kerr := s.keyFree(ctx, pub); kerr != nil {
				return kerr
			}
		}
		if conncred.ErrorCode(err) == conncred.ENotFound && retireID != "" {
			return conncred.Errorf(conncred.EInvalid, "credential %s is not a usable credential of connector %s, so it cannot be retired", trunc(retireID), connectorID)
		}
		return err
	}
	c, sec, err := s.auth.IssueConnectorCredential(ctx, appID, connectorID, opt.DisplayName, opt.Expires, opt.ExpiresTime, pub, insert)
	if err != nil {
		return Rotated{}, err
	}
	ev := conncred.AuditEvent{Kind: "credential.created", AppID: appID, ConnectorID: connectorID, CredentialID: c.ID}
	if kind == AuditCredentialSelf {
		ev.Reason = "self-rotation"
	}
	if pub != nil {
		ev.Reason = joinReason(ev.Reason, "key brought by the caller")
	}
	s.auth.Record(ctx, ev)
	if len(retired) > 0 {
		trigger := TriggerRotate
		if kind == AuditCredentialSelf {
			trigger = TriggerSelfRotate
		}
		s.cfg.Observer.CredentialsRetired(trigger, len(retired))
	}
	for _, r := range retired {
		s.auth.Forget(r.ID)
		s.auth.Record(ctx, conncred.AuditEvent{Kind: AuditCredentialRetiring, AppID: r.AppID, ConnectorID: r.ConnectorID, CredentialID: r.ID,
			Reason: fmt.Sprintf("replaced by %s; expires %s", c.ID, r.ExpiresAt.UTC().Format(time.RFC3339))})
	}
	return Rotated{Credential: c, Secret: sec, HasSecret: pub == nil, Retired: retired}, nil
}

// keyFree refuses a public key that any credential already has: two
// credentials with one key would let whoever holds it be either.
func (s *Service) keyFree(ctx context.Context, pub ed25519.PublicKey) error {
	_, err := s.store.CredentialByThumbprint(ctx, secret.Thumbprint(pub))
	switch conncred.ErrorCode(err) {
	case conncred.ENotFound:
		return nil
	case "":
		return conncred.Errorf(conncred.EInvalid, "this public key is already registered to a credential; generate a new key pair for every credential")
	default:
		return err
	}
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
