package dpop

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
)

// Config sets the verifier's windows and nonces. Zero values take the
// defaults noted.
type Config struct {
	// Window is how old a proof's iat may be (default 60s). Proofs are
	// made for one request and sent at once, so a short window bounds
	// both a captured proof's use and its replay record's life.
	Window time.Duration
	// Skew is how far ahead of the server's clock iat may be (default 5s).
	Skew time.Duration
	// NonceKey turns server-provided nonces on: every proof must then
	// carry a nonce made with this key (nonce.go). Nodes that share the
	// key share the nonces. Empty: nonces off.
	NonceKey []byte
	// NonceWindow is how long one nonce is current (default 5m); it is
	// accepted for one more window after.
	NonceWindow time.Duration
	// Observer counts proofs accepted and refused; nil: none.
	Observer Observer
}

func (c *Config) setDefaults() {
	if c.Window <= 0 {
		c.Window = time.Minute
	}
	if c.Skew <= 0 {
		c.Skew = 5 * time.Second
	}
	if c.NonceWindow <= 0 {
		c.NonceWindow = 5 * time.Minute
	}
	if c.Observer == nil {
		c.Observer = nopObserver{}
	}
}

// Observer receives one call per proof checked: outcome "accepted" with
// an empty reason, or "refused" with one of Reasons.
type Observer interface {
	DPoPProof(outcome, reason string)
}

// Outcomes of a proof check.
const (
	OutcomeAccepted = "accepted"
	OutcomeRefused  = "refused"
)

type nopObserver struct{}

func (nopObserver) DPoPProof(string, string) {}

// ReplayStore records a proof as used: the replay store the token endpoint
// uses for assertions (conncred.Store's UseAssertion). A key recorded
// before is an EConflict error.
type ReplayStore interface {
	UseAssertion(ctx context.Context, key string, expiresAt time.Time) error
}

// Verifier checks proofs. It is safe for concurrent use.
type Verifier struct {
	cfg    Config
	replay ReplayStore
	clock  clock.Clock
}

// NewVerifier returns a verifier that records proofs in replay. A nil clk
// is the real clock (serve passes nil, as it does to NewPolicy).
func NewVerifier(cfg Config, replay ReplayStore, clk clock.Clock) *Verifier {
	cfg.setDefaults()
	if clk == nil {
		clk = clock.Real{}
	}
	return &Verifier{cfg: cfg, replay: replay, clock: clk}
}

// Request is what a proof is checked against.
type Request struct {
	// Proofs are the values of the request's DPoP headers.
	Proofs []string
	// Method is the request's HTTP method.
	Method string
	// URLs name the request: the URL it was received at, and the URL
	// clients know it by (the public URL, in front of a proxy). A proof's
	// htu must name one of them after normalization (NormalizeHTU).
	URLs []string
	// AccessToken is the token the request presents to a protected
	// resource, and JKT the thumbprint that token is bound to; both
	// empty at the token endpoint.
	AccessToken string
	JKT         string
}

// Nonce returns the nonce clients should use now, or "" when nonces are
// off. Servers send it as DPoP-Nonce.
func (v *Verifier) Nonce() string {
	if len(v.cfg.NonceKey) == 0 {
		return ""
	}
	return v.nonce(v.clock.Now())
}

// Check verifies the request's proof and returns the thumbprint of its
// key. A refusal is an *Error; a replay store failure is returned as is.
// The checks run cheapest first, and the replay record (the one write)
// last, so a proof refused for any other reason costs no write.
func (v *Verifier) Check(ctx context.Context, req Request) (string, error) {
	jkt, err := v.check(ctx, req)
	if e, ok := err.(*Error); ok {
		v.cfg.Observer.DPoPProof(OutcomeRefused, e.Reason)
		return "", err
	}
	if err == nil {
		v.cfg.Observer.DPoPProof(OutcomeAccepted, "")
	}
	return jkt, err
}

func (v *Verifier) check(ctx context.Context, req Request) (string, error) {
	switch len(req.Proofs) {
	case 0:
		return "", refusal(ReasonMissing, "this request needs a DPoP header: a proof signed by the key the token is bound to (RFC 9449)")
	case 1:
	default:
		return "", refusal(ReasonMultiple, "send exactly one DPoP header")
	}
	p, rerr := parse(req.Proofs[0])
	if rerr != nil {
		return "", rerr
	}
	if p.claims.HTM != req.Method {
		return "", refusal(ReasonHTM, "the DPoP proof's htm is not this request's method ("+req.Method+")")
	}
	if !v.htuMatches(p.claims.HTU, req.URLs) {
		return "", refusal(ReasonHTU, "the DPoP proof's htu is not this request's URL (scheme, host and path, without query or fragment)")
	}
	now := v.clock.Now()
	if p.iat.Before(now.Add(-v.cfg.Window)) || p.iat.After(now.Add(v.cfg.Skew)) {
		return "", refusal(ReasonIAT, fmt.Sprintf("the DPoP proof's iat is not within %s of the server's time (%s); make a new proof for every request and check the client's clock", v.cfg.Window, now.UTC().Format(time.RFC3339)))
	}
	if len(v.cfg.NonceKey) > 0 && !v.validNonce(p.claims.Nonce, now) {
		desc := "this server requires a nonce in DPoP proofs: make a new proof with nonce set to the DPoP-Nonce response header"
		if p.claims.Nonce != "" {
			desc = "the DPoP proof's nonce is stale or not this server's: make a new proof with nonce set to the DPoP-Nonce response header"
		}
		return "", &Error{Code: ErrUseNonce, Description: desc, Reason: ReasonNonce, Nonce: v.nonce(now)}
	}
	if req.AccessToken != "" || req.JKT != "" {
		if p.claims.ATH == "" {
			return "", refusal(ReasonATH, "the DPoP proof needs ath: base64url(SHA-256(access token)) of the token sent with it")
		}
		if subtle.ConstantTimeCompare([]byte(p.claims.ATH), []byte(AccessTokenHash(req.AccessToken))) != 1 {
			return "", refusal(ReasonATH, "the DPoP proof's ath is not the hash of the access token sent with it")
		}
		if subtle.ConstantTimeCompare([]byte(p.key.jkt), []byte(req.JKT)) != 1 {
			return "", refusal(ReasonKey, "the DPoP proof is signed by another key than the one the access token is bound to")
		}
	}
	// The record lives as long as the proof could be accepted.
	exp := p.iat.Add(v.cfg.Window + v.cfg.Skew)
	if err := v.replay.UseAssertion(ctx, replayKey(exp, p.key.jkt, p.claims.JTI), exp); err != nil {
		if conncred.ErrorCode(err) == conncred.EConflict {
			return "", refusal(ReasonReplay, "this DPoP proof has been used before; make a new proof (with a new jti) for every request")
		}
		return "", err
	}
	return p.key.jkt, nil
}

func (v *Verifier) htuMatches(htu string, urls []string) bool {
	got, err := NormalizeHTU(htu)
	if err != nil {
		return false
	}
	for _, u := range urls {
		if want, err := NormalizeHTU(u); err == nil && want == got {
			return true
		}
	}
	return false
}

// AccessTokenHash is a proof's ath for token: base64url(SHA-256(token)).
func AccessTokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// replayKey names a proof in the replay store: "dpop." (so it never meets
// an assertion's key, which starts with a digit), the record's expiry in
// seconds zero-padded so that keys sort by it (as authority's do, to keep
// inserts near each other), and a hash of the key's thumbprint and the
// jti. The jti is scoped by the key, so one client cannot spend another's.
func replayKey(exp time.Time, jkt, jti string) string {
	h := sha256.Sum256([]byte(jkt + "\x00" + jti))
	key := make([]byte, 0, 17+2*sha256.Size)
	key = fmt.Appendf(key, "dpop.%011d.", exp.Unix())
	return string(hex.AppendEncode(key, h[:]))
}
