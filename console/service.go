package console

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/internal/ksuid"
)

// LoginPath is where a login link points, on the server's public host:
// https://<public host>/console/login?token=<token>. A GET of it must
// change nothing (link previewers and prefetchers fetch it): it renders a
// page whose form POSTs the token back, which is when SignIn spends it.
// The access log records route patterns, never query strings, and the page
// is served with Referrer-Policy: no-referrer, so the token reaches
// neither the log nor another site.
const LoginPath = "/console/login"

// touchEvery is how stale a session's LastSeenAt may get before a request
// writes it again. A page load is many requests (the page, its CSS, the
// fragments it asks for), and a write for each would put a write on every
// request of a store with one writer (SQLite); once a minute costs the
// idle timeout at most a minute of precision, and it runs out early, never
// late.
const touchEvery = time.Minute

// Authority is what the wing uses of package authority, whose
// *authority.Authority implements it. It is declared here in plain types so
// that this package does not import the authority: the stores import this
// package, and the authority's own tests open a store.
type Authority interface {
	// AuthorizeConsoleLink returns the principal in ctx if it may ask for
	// a login link (an admin calling with a stored, usable personal
	// client credential's token), or the EUnauthenticated or
	// EPermissionDenied error the API answers with.
	AuthorizeConsoleLink(ctx context.Context) (*conncred.Principal, error)
	// AuthenticateCredential returns the principal of an admin credential
	// after the checks a bearer token's credential gets (revoked,
	// expired, source networks), with the source in ctx.
	AuthenticateCredential(ctx context.Context, credentialID string) (*conncred.Principal, error)
	// Record buffers an audit event, filling in its actor and source from
	// the principal in ctx.
	Record(ctx context.Context, e conncred.AuditEvent)
	// PublicHost is host[:port] clients reach the server at.
	PublicHost() string
}

// Observer receives the sweep's measurements (package metrics implements
// it).
type Observer interface {
	// SweepRun is called once per sweep with the links and sessions it
	// deleted and the error that stopped it, if any.
	SweepRun(deleted int, err error)
}

type nopObserver struct{}

func (nopObserver) SweepRun(int, error) {}

// Config holds the wing's settings. Zero values take the defaults noted.
type Config struct {
	// Observer receives the sweep's measurements (default: none).
	Observer Observer
	// Log receives what the wing cannot return: a failed LastSeenAt
	// write, a failed sweep (default: discarded).
	Log *slog.Logger
}

// Service holds the rules of console sign-in. Its methods are safe for
// concurrent use.
type Service struct {
	auth  Authority
	store Store
	clock clock.Clock
	obs   Observer
	log   *slog.Logger
}

// New returns the console sign-in rules over store, asking auth who may
// sign in. clk nil is the real clock.
func New(auth Authority, store Store, clk clock.Clock, cfg Config) *Service {
	if clk == nil {
		clk = clock.Real{}
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{auth: auth, store: store, clock: clk, obs: cfg.Observer, log: cfg.Log}
}

// now is the clock's time at the stores' precision (microseconds), so
// that a time written and read back compares equal.
func (s *Service) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// LoginURL is the login link for token on this server.
func (s *Service) LoginURL(token string) string {
	u := url.URL{Scheme: "https", Host: s.auth.PublicHost(), Path: LoginPath, RawQuery: url.Values{"token": {token}}.Encode()}
	return u.String()
}

// IssueLink makes a one-time login link for the admin credential the
// caller's token was minted from. The token is returned once and stored
// only as its hash; the link expires after LinkLifetime.
func (s *Service) IssueLink(ctx context.Context) (token string, l Link, err error) {
	p, err := s.auth.AuthorizeConsoleLink(ctx)
	if err != nil {
		return "", Link{}, err
	}
	token, hash, err := newToken()
	if err != nil {
		return "", Link{}, err
	}
	now := s.now()
	l = Link{ID: ksuid.New(now), TokenHash: hash, CredentialID: p.CredentialID, CreatedAt: now, ExpiresAt: now.Add(LinkLifetime)}
	if err := s.store.CreateConsoleLink(ctx, l); err != nil {
		return "", Link{}, err
	}
	s.auth.Record(ctx, conncred.AuditEvent{Kind: AuditLinkIssued, CredentialID: p.CredentialID,
		Reason: "link " + l.ID + ", valid until " + l.ExpiresAt.Format(time.RFC3339)})
	return token, l, nil
}

// errLinkSpent is the one answer for a token that is malformed, unknown,
// used or expired: which of these it was would tell a guesser something,
// and the person holding the link can do the same thing in every case.
func errLinkSpent(cause error) error {
	return conncred.WrapError(conncred.EUnauthenticated, cause, "this login link is used or expired; run conncred console for a new one")
}

// errSessionOver is the one answer for a cookie that names no live
// session: unknown, signed out, idle or past its absolute lifetime.
func errSessionOver(cause error) error {
	return conncred.WrapError(conncred.EUnauthenticated, cause, "your console session has ended; sign in again with a new link from conncred console")
}

// SignIn redeems a login link's token and starts a session for the
// credential that asked for the link, from source (the remote address;
// "" takes the one in ctx). It returns the session's cookie value, once;
// the store keeps only its hash. A token that is malformed, unknown, used
// or expired is EUnauthenticated without saying which. The token is spent
// even when the credential turns out to be unusable (revoked, expired,
// refused from source): a link is good for one attempt.
func (s *Service) SignIn(ctx context.Context, token, source string) (cookie string, sess Session, err error) {
	if source == "" {
		source = conncred.SourceFrom(ctx)
	}
	ctx = conncred.WithSource(ctx, source)
	hash, ok := tokenHash(token)
	if !ok {
		return "", Session{}, errLinkSpent(errors.New("malformed login token"))
	}
	cookie, cookieHash, err := newToken()
	if err != nil {
		return "", Session{}, err
	}
	now := s.now()
	sess = Session{ID: ksuid.New(now), TokenHash: cookieHash, Source: source, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(AbsoluteTimeout)}
	sess, err = s.store.RedeemConsoleLink(ctx, hash, now, sess)
	if err != nil {
		if conncred.ErrorCode(err) == conncred.ENotFound {
			return "", Session{}, errLinkSpent(err)
		}
		return "", Session{}, err
	}
	p, err := s.auth.AuthenticateCredential(ctx, sess.CredentialID)
	if err != nil {
		// The session must not outlive this refusal; a failure to end it
		// still leaves it unusable, since every Resume checks again.
		if eerr := s.store.EndConsoleSession(ctx, sess.ID, now); eerr != nil {
			s.log.Warn("console: ending a session whose credential was refused at sign-in", "session", sess.ID, "err", eerr)
		}
		s.auth.Record(ctx, conncred.AuditEvent{Kind: AuditSignedIn, CredentialID: sess.CredentialID, Outcome: "failure",
			Reason: conncred.ErrorMessage(err)})
		return "", Session{}, err
	}
	s.auth.Record(conncred.WithPrincipal(ctx, p), conncred.AuditEvent{Kind: AuditSignedIn, CredentialID: p.CredentialID, Reason: "session " + sess.ID})
	return cookie, sess, nil
}

// Resume returns ctx carrying the principal of the session whose cookie
// value is cookie, for a request from the source in ctx, and the session.
// A session that is unknown, signed out, idle for IdleTimeout or older
// than its ExpiresAt is EUnauthenticated. The credential it acts as is
// authenticated as a bearer token's is on every call, so revoking or
// expiring it (or a source limit) cuts the session off at once; a revoked
// or expired credential also ends the session for good.
func (s *Service) Resume(ctx context.Context, cookie string) (context.Context, Session, error) {
	hash, ok := tokenHash(cookie)
	if !ok {
		return ctx, Session{}, errSessionOver(errors.New("malformed session cookie"))
	}
	sess, err := s.store.GetConsoleSession(ctx, hash)
	if err != nil {
		if conncred.ErrorCode(err) == conncred.ENotFound {
			return ctx, Session{}, errSessionOver(err)
		}
		return ctx, Session{}, err
	}
	now := s.now()
	switch {
	case sess.EndedAt != nil:
		return ctx, Session{}, errSessionOver(errors.New("signed out"))
	case !now.Before(sess.ExpiresAt):
		return ctx, Session{}, errSessionOver(errors.New("past its absolute lifetime"))
	case !now.Before(sess.LastSeenAt.Add(IdleTimeout)):
		return ctx, Session{}, errSessionOver(errors.New("idle too long"))
	}
	p, err := s.auth.AuthenticateCredential(ctx, sess.CredentialID)
	if err != nil {
		if conncred.ErrorCode(err) == conncred.EUnauthenticated {
			// Revoked, expired or gone: that never reverts, so the
			// session ends now rather than at its timeout. (A source
			// refusal is about this request, not the session.)
			s.end(ctx, sess, now, "credential refused: "+conncred.ErrorMessage(err))
		}
		return ctx, Session{}, err
	}
	p.ExpiresAt = sess.ExpiresAt
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if err := s.store.TouchConsoleSession(ctx, sess.ID, now); err != nil {
			// The request may go on: a missed write costs the session
			// at most touchEvery of its idle time.
			s.log.Warn("console: recording a session's last request", "session", sess.ID, "err", err)
		} else {
			sess.LastSeenAt = now
		}
	}
	return conncred.WithPrincipal(ctx, p), sess, nil
}

// SignOut ends the session whose cookie value is cookie. Signing out of a
// session that is unknown or already over is not an error: the result the
// caller wants holds.
func (s *Service) SignOut(ctx context.Context, cookie string) error {
	hash, ok := tokenHash(cookie)
	if !ok {
		return nil
	}
	sess, err := s.store.GetConsoleSession(ctx, hash)
	if conncred.ErrorCode(err) == conncred.ENotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if sess.EndedAt != nil {
		return nil
	}
	return s.end(ctx, sess, s.now(), "signed out")
}

// end ends sess and records it. When ctx names no principal the actor is
// the session's credential, or the server itself when that credential no
// longer authenticates (the session ends because it was revoked).
func (s *Service) end(ctx context.Context, sess Session, now time.Time, reason string) error {
	if err := s.store.EndConsoleSession(ctx, sess.ID, now); err != nil {
		s.log.Warn("console: ending a session", "session", sess.ID, "err", err)
		return err
	}
	if conncred.PrincipalFrom(ctx) == nil {
		p, err := s.auth.AuthenticateCredential(ctx, sess.CredentialID)
		if err != nil {
			p = conncred.System
		}
		ctx = conncred.WithPrincipal(ctx, p)
	}
	s.auth.Record(ctx, conncred.AuditEvent{Kind: AuditSignedOut, CredentialID: sess.CredentialID, Reason: "session " + sess.ID + ": " + reason})
	return nil
}
