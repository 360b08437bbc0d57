package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/webhook"
)

// Store is what this package needs of the database. store/sqlite and
// store/postgres implement it in their policies.go files; the conformance
// tests are store/storetest/policies.go.
type Store interface {
	// Policy returns what scope sets; a zero Policy (and no error) when it
	// sets nothing.
	Policy(ctx context.Context, scope Scope) (Policy, error)
	// PutPolicy replaces what scope sets (an empty p removes it) and, in
	// the same transaction, enqueues events into the webhook outbox (the
	// stores' enqueueWebhookEvents; only while a webhook endpoint exists,
	// as the outbox's triggers do).
	PutPolicy(ctx context.Context, scope Scope, p Policy, events []webhook.Event) error
	// ListPolicies returns every stored policy, the scheduler's whole
	// view of them in one read.
	ListPolicies(ctx context.Context) (map[Scope]Policy, error)

	// GetApp and GetConnector are conncred.Store's: a policy is set only
	// on a live app or connector.
	GetApp(ctx context.Context, id string) (conncred.App, error)
	GetConnector(ctx context.Context, id string) (conncred.Connector, error)
	// ListCredentials is conncred.Store's; the scheduler pages through the
	// unrevoked connector credentials with it.
	ListCredentials(ctx context.Context, f conncred.CredentialFilter) ([]conncred.Credential, error)

	// EmittedEvents returns the events already recorded for these
	// credentials.
	EmittedEvents(ctx context.Context, credentialIDs []string) ([]Emitted, error)
	// EmitEvent records k and, in the same transaction, appends e to the
	// audit trail and enqueues events into the webhook outbox (as
	// PutPolicy does), unless k was recorded before (by this node or
	// another): then it changes nothing and returns false. One insert
	// against the unique key decides, never a look-up first.
	EmitEvent(ctx context.Context, k EventKey, e conncred.AuditEvent, events []webhook.Event) (bool, error)

	// NoteConnectorsSeen moves each connector's last-seen time forward to
	// the time given (never back), in one transaction.
	NoteConnectorsSeen(ctx context.Context, seen []ConnectorSeen) error
	// ConnectorActivity returns, in connector id order after the id
	// after, at most limit live connectors (of live apps) that have at
	// least one baton host on record, with what is known of when they
	// were last heard and whether an offline period is open.
	ConnectorActivity(ctx context.Context, after string, limit int) ([]ConnectorActivity, error)
	// EmitConnectorEvent records k (k.CredentialID holds the connector's
	// id) as EmitEvent does, and in the same transaction opens the
	// connector's offline period at k.Threshold (offline true) or closes
	// the one opened at k.Threshold (offline false). Unless k was recorded
	// before: then it changes nothing and returns false.
	EmitConnectorEvent(ctx context.Context, k EventKey, offline bool, e conncred.AuditEvent, events []webhook.Event) (bool, error)
}

// Authority is what this package uses of package authority;
// *authority.Authority implements it.
type Authority interface {
	// Record adds an audit event (policy changes).
	Record(ctx context.Context, e conncred.AuditEvent)
	// StreamAudit hands an event this package stored itself (the
	// scheduler's, in EmitEvent's transaction) to the audit stream
	// (--audit-log), with the id it is stored under.
	StreamAudit(e conncred.AuditEvent)
	// RevokeFor revokes a credential on the server's own behalf with a
	// reason, as a revoke does (cache, cross-node notice, audit).
	RevokeFor(ctx context.Context, credentialID, reason string) (conncred.Credential, error)
	Now() time.Time
}

// Audit event kinds of this package.
const (
	AuditPolicyChanged = "policy.changed"
	// The scheduler's events: recorded once per credential, kind and
	// threshold.
	AuditExpiring    = "credential.expiring"
	AuditExpired     = "credential.expired"
	AuditDormant     = "credential.dormant"
	AuditAutoRevoked = "credential.auto_revoked"
	// The connector liveness events (liveness.go): recorded once per
	// connector, kind and the instant the silence began.
	AuditConnectorOffline = "connector.offline"
	AuditConnectorOnline  = "connector.online"
)

// EventKinds are the scheduler's event kinds.
var EventKinds = []string{AuditExpiring, AuditExpired, AuditDormant, AuditAutoRevoked, AuditConnectorOffline, AuditConnectorOnline}

// ReasonDormant is the revocation reason of an auto-revoke.
const ReasonDormant = "dormant"

// Config holds the package's settings.
type Config struct {
	// Defaults is the server default from the serve flags, under every
	// stored policy (a stored server default overrides it field by
	// field). Its nil fields mean none.
	Defaults Policy
	// Interval is how often the scheduler looks (default 1m).
	Interval time.Duration
	// Observer receives the scheduler's measurements; nil: none.
	Observer Observer
}

// Service applies the policy rules.
type Service struct {
	cfg   Config
	auth  Authority
	store Store
	clock clock.Clock
	cache policyCache
	// seen buffers the connectors heard since the last pass (liveness.go).
	seen seenBuffer
	// started is when this node began listening: a connector's silence
	// is measured from no earlier, so a server that was down does not
	// report every connector offline for its own absence.
	started time.Time
}

// New returns a Service.
func New(cfg Config, a Authority, st Store, clk clock.Clock) (*Service, error) {
	if cfg.Interval == 0 {
		cfg.Interval = time.Minute
	}
	if cfg.Interval < time.Second {
		return nil, fmt.Errorf("policy scheduler interval %s is shorter than 1s", cfg.Interval)
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if err := cfg.Defaults.Validate(); err != nil {
		return nil, fmt.Errorf("server default policy: %s", conncred.ErrorMessage(err))
	}
	if err := checkEffective(resolve(cfg.Defaults)); err != nil {
		return nil, fmt.Errorf("server default policy: %s", conncred.ErrorMessage(err))
	}
	// An offlineAfter under three intervals in the flags is raised to
	// three by the pass (offlineAfter), not refused: the default 15m must
	// not stop a server started with a long --policy-interval.
	s := &Service{cfg: cfg, auth: a, store: st, clock: clk}
	if clk == nil {
		s.clock = clock.Real{}
	}
	s.started = s.clock.Now()
	return s, nil
}

// AsStore returns st as a Store, or an error that names what is missing.
func AsStore(st conncred.Store) (Store, error) {
	ps, ok := st.(Store)
	if !ok {
		return nil, errors.New("this store does not implement the policy wing (expiry and dormancy policies); upgrade the store")
	}
	return ps, nil
}

// View is a scope's policy as set there, and as it resolves for the
// credentials below it.
type View struct {
	Scope     Scope
	Set       Policy
	Effective Effective
}

// Get returns a scope's policy. Admins only.
func (s *Service) Get(ctx context.Context, scope Scope) (View, error) {
	if err := requireAdmin(ctx); err != nil {
		return View{}, err
	}
	chain, err := s.chain(ctx, scope)
	if err != nil {
		return View{}, err
	}
	return View{Scope: scope.key(), Set: chain[0].p, Effective: resolve(s.cfg.Defaults, chain...)}, nil
}

// Update is a change of one scope's policy: the fields in Mask take their
// value from Policy (a nil value: inherit again); an empty Mask replaces
// the whole policy.
type Update struct {
	Scope  Scope
	Policy Policy
	Mask   []string
}

// Set changes a scope's policy and records it. Admins only. A value out
// of range, or a combination that cannot work once inherited values are
// merged in, is EInvalid and changes nothing.
func (s *Service) Set(ctx context.Context, u Update) (View, error) {
	if err := requireAdmin(ctx); err != nil {
		return View{}, err
	}
	for _, m := range u.Mask {
		if !slices.Contains(Fields, m) {
			return View{}, conncred.Errorf(conncred.EInvalid, "updateMask: %q is not a policy field (fields: %s)", trunc(m), strings.Join(Fields, ", "))
		}
	}
	if err := u.Policy.Validate(); err != nil {
		return View{}, err
	}
	chain, err := s.chain(ctx, u.Scope)
	if err != nil {
		return View{}, err
	}
	next := u.Policy
	if len(u.Mask) > 0 {
		next = chain[0].p
		for _, m := range u.Mask {
			switch m {
			case FieldMaxLifetime:
				next.MaxLifetime = u.Policy.MaxLifetime
			case FieldExpiryWarnings:
				next.ExpiryWarnings = u.Policy.ExpiryWarnings
			case FieldDormancyThreshold:
				next.DormancyThreshold = u.Policy.DormancyThreshold
			case FieldAutoRevokeAfter:
				next.AutoRevokeAfter = u.Policy.AutoRevokeAfter
			case FieldRequireDPoP:
				next.RequireDPoP = u.Policy.RequireDPoP
			case FieldOfflineAfter:
				next.OfflineAfter = u.Policy.OfflineAfter
			}
		}
	}
	chain[0].p = next
	eff := resolve(s.cfg.Defaults, chain...)
	if err := checkEffective(eff); err != nil {
		return View{}, err
	}
	if err := s.checkOffline(eff.OfflineAfter); err != nil {
		return View{}, err
	}
	next.UpdatedAt = s.auth.Now()
	if next.Empty() {
		next.UpdatedAt = time.Time{}
	}
	ev := conncred.AuditEvent{Kind: AuditPolicyChanged, Reason: truncReason(u.Scope.String() + ": " + Describe(next))}
	switch u.Scope.Kind {
	case ScopeApp:
		ev.AppID = u.Scope.ID
	case ScopeConnector:
		ev.AppID, ev.ConnectorID = chain[1].scope.ID, u.Scope.ID
	}
	hook := changedWebhook(u.Scope.key(), ev.AppID, next, s.auth.Now().UTC().Truncate(time.Microsecond))
	if err := s.store.PutPolicy(ctx, u.Scope.key(), next, []webhook.Event{hook}); err != nil {
		return View{}, err
	}
	s.forget()
	s.auth.Record(ctx, ev)
	return View{Scope: u.Scope.key(), Set: next, Effective: eff}, nil
}

// chain returns scope's policy and those of the scopes above it, nearest
// first, checking that the app or connector exists.
func (s *Service) chain(ctx context.Context, scope Scope) ([]scoped, error) {
	var scopes []Scope
	appID := scope.AppID
	scope = scope.key()
	switch scope.Kind {
	case ScopeServer:
		scopes = []Scope{scope}
	case ScopeApp:
		a, err := s.store.GetApp(ctx, scope.ID)
		if err == nil && a.DeletedAt != nil {
			err = conncred.Errorf(conncred.ENotFound, "deleted")
		}
		if err != nil {
			return nil, notFound(err, "app", scope.ID)
		}
		scopes = []Scope{scope, {Kind: ScopeServer}}
	case ScopeConnector:
		c, err := s.store.GetConnector(ctx, scope.ID)
		if err == nil && (c.DeletedAt != nil || (appID != "" && c.AppID != appID)) {
			err = conncred.Errorf(conncred.ENotFound, "deleted, or of another app")
		}
		if err != nil {
			return nil, notFound(err, "connector", scope.ID)
		}
		scopes = []Scope{scope, {Kind: ScopeApp, ID: c.AppID}, {Kind: ScopeServer}}
	default:
		return nil, conncred.Errorf(conncred.EInvalid, "policy scope %q is not server, app or connector", trunc(scope.Kind))
	}
	out := make([]scoped, len(scopes))
	for i, sc := range scopes {
		p, err := s.store.Policy(ctx, sc)
		if err != nil {
			return nil, err
		}
		out[i] = scoped{sc, p}
	}
	return out, nil
}

// ConnectorPolicy resolves the policy of a connector's credentials.
func (s *Service) ConnectorPolicy(ctx context.Context, appID, connectorID string) (Effective, error) {
	chain := make([]scoped, 0, 3)
	for _, sc := range []Scope{{Kind: ScopeConnector, ID: connectorID}, {Kind: ScopeApp, ID: appID}, {Kind: ScopeServer}} {
		p, err := s.store.Policy(ctx, sc)
		if err != nil {
			return Effective{}, err
		}
		chain = append(chain, scoped{sc, p})
	}
	return resolve(s.cfg.Defaults, chain...), nil
}

// MaxLifetime is authority.LifetimeLimiter: the maximum lifetime of a new
// credential of the connector, 0 for none, and where that limit was set
// (for the message of a refusal).
func (s *Service) MaxLifetime(ctx context.Context, appID, connectorID string) (time.Duration, string, error) {
	e, err := s.ConnectorPolicy(ctx, appID, connectorID)
	if err != nil {
		return 0, "", err
	}
	from := "this server's default policy"
	if sc, ok := e.From[FieldMaxLifetime]; ok && sc.Kind != ScopeServer {
		from = "the policy of " + sc.String()
	}
	return e.MaxLifetime, from, nil
}

// Describe writes what p sets, for an audit record: durations only, never
// anything secret.
func Describe(p Policy) string {
	if p.Empty() {
		return "inherits every field"
	}
	var parts []string
	d := func(name string, v *time.Duration) {
		if v != nil {
			parts = append(parts, name+"="+FormatDuration(*v))
		}
	}
	d(FieldMaxLifetime, p.MaxLifetime)
	if p.ExpiryWarnings != nil {
		ws := make([]string, len(*p.ExpiryWarnings))
		for i, w := range *p.ExpiryWarnings {
			ws[i] = FormatDuration(w)
		}
		parts = append(parts, FieldExpiryWarnings+"=["+strings.Join(ws, ",")+"]")
	}
	d(FieldDormancyThreshold, p.DormancyThreshold)
	d(FieldAutoRevokeAfter, p.AutoRevokeAfter)
	if p.RequireDPoP != nil {
		parts = append(parts, fmt.Sprintf("%s=%t", FieldRequireDPoP, *p.RequireDPoP))
	}
	d(FieldOfflineAfter, p.OfflineAfter)
	return strings.Join(parts, " ")
}

func requireAdmin(ctx context.Context) error {
	p := conncred.PrincipalFrom(ctx)
	if p == nil {
		return conncred.Errorf(conncred.EUnauthenticated, "authentication required")
	}
	if !p.IsAdmin() {
		return conncred.Errorf(conncred.EPermissionDenied, "policies are read and set by an admin (personal client) credential")
	}
	return nil
}

func notFound(err error, what, id string) error {
	if conncred.ErrorCode(err) == conncred.ENotFound {
		return conncred.Errorf(conncred.ENotFound, "%s %q not found", what, trunc(id))
	}
	return err
}

func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

func truncReason(s string) string {
	if len(s) > 500 {
		return s[:500] + "..."
	}
	return s
}
