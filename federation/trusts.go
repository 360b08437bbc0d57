package federation

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/internal/ksuid"
	"github.com/conncred/conncred/secret"
)

// TrustInput is what an admin sets on a trust. Create uses every field;
// update only those its mask names (UpdateFields).
type TrustInput struct {
	DisplayName      string
	Issuer           string
	Audiences        []string // default: the server's public URL
	Condition        string
	Role             Role
	AppID            string
	ConnectorID      string
	MaxTokenLifetime time.Duration // 0: the server's token TTL
	RequireDPoP      bool
}

// The fields an update mask may name (lowerCamelCase, as on the wire).
const (
	FieldDisplayName      = "displayName"
	FieldIssuer           = "issuer"
	FieldAudiences        = "audiences"
	FieldCondition        = "condition"
	FieldMaxTokenLifetime = "maxTokenLifetime"
	FieldRequireDPoP      = "requireDpop"
)

var updatableFields = []string{FieldDisplayName, FieldIssuer, FieldAudiences, FieldCondition, FieldMaxTokenLifetime, FieldRequireDPoP}

// Bounds of a trust's fields.
const (
	maxAudiences        = 10
	maxAudienceBytes    = 512
	maxDisplayNameBytes = 200
	maxTrustLifetime    = 24 * time.Hour
)

func requireAdmin(ctx context.Context) error {
	p := conncred.PrincipalFrom(ctx)
	if p == nil {
		return conncred.Errorf(conncred.EUnauthenticated, "authentication required")
	}
	if !p.IsAdmin() {
		return conncred.Errorf(conncred.EPermissionDenied, "managing workload federation trusts needs an admin (personal client) credential")
	}
	return nil
}

// Authorize is the early check of a trust write, for the HTTP layer to call
// before it reads a body.
func (s *Service) Authorize(ctx context.Context) error { return requireAdmin(ctx) }

// validate checks the mutable fields and fills in defaults.
func (s *Service) validate(in *TrustInput) error {
	if len(in.DisplayName) > maxDisplayNameBytes {
		return conncred.Errorf(conncred.EInvalid, "displayName must be at most %d bytes", maxDisplayNameBytes)
	}
	if err := s.validIssuer(in.Issuer); err != nil {
		return err
	}
	if len(in.Audiences) == 0 {
		in.Audiences = []string{s.auth.Issuer()}
	}
	if len(in.Audiences) > maxAudiences {
		return conncred.Errorf(conncred.EInvalid, "audiences may name at most %d values", maxAudiences)
	}
	for _, a := range in.Audiences {
		if a == "" || len(a) > maxAudienceBytes {
			return conncred.Errorf(conncred.EInvalid, "each audience must be 1 to %d bytes", maxAudienceBytes)
		}
	}
	if _, err := compileCondition(in.Condition); err != nil {
		return err
	}
	if in.MaxTokenLifetime < 0 || in.MaxTokenLifetime > maxTrustLifetime || (in.MaxTokenLifetime > 0 && in.MaxTokenLifetime < time.Minute) {
		return conncred.Errorf(conncred.EInvalid, "maxTokenLifetime must be between 1m and 24h (or unset for the server's token lifetime)")
	}
	return nil
}

// CreateTrust creates a trust and returns it. It holds no secret.
func (s *Service) CreateTrust(ctx context.Context, in TrustInput) (Trust, error) {
	if err := requireAdmin(ctx); err != nil {
		return Trust{}, err
	}
	switch in.Role {
	case RoleConnector:
		if !ksuid.Valid(in.AppID) || !ksuid.Valid(in.ConnectorID) {
			return Trust{}, conncred.Errorf(conncred.EInvalid, "a connector trust needs the appId and connectorId of a live connector")
		}
	case RoleAdmin:
		if in.AppID != "" || in.ConnectorID != "" {
			return Trust{}, conncred.Errorf(conncred.EInvalid, "an admin trust takes no appId or connectorId")
		}
	default:
		return Trust{}, conncred.Errorf(conncred.EInvalid, "role must be %q (tokens act as one connector) or %q", RoleConnector, RoleAdmin)
	}
	if err := s.validate(&in); err != nil {
		return Trust{}, err
	}
	now := s.auth.Now()
	t := Trust{
		DisplayName: in.DisplayName, Issuer: in.Issuer, Audiences: in.Audiences, Condition: in.Condition,
		Role: in.Role, AppID: in.AppID, ConnectorID: in.ConnectorID,
		MaxTokenLifetime: in.MaxTokenLifetime, RequireDPoP: in.RequireDPoP,
		CreatedAt: now, UpdatedAt: now,
	}
	var err error
	for range 5 { // cutenames are random; the unique index decides
		t.ID = ksuid.New(now)
		cid, cerr := secret.NewClientID(s.cfg.PublicHost, SuffixTrust)
		if cerr != nil {
			return Trust{}, conncred.WrapError(conncred.EInternal, cerr, "could not make a client id")
		}
		t.ClientID = cid.String()
		if t.DisplayName == "" {
			t.DisplayName = cid.Name
		}
		err = s.store.CreateTrust(ctx, t)
		if conncred.ErrorCode(err) != conncred.EConflict {
			break
		}
	}
	if err != nil {
		if conncred.ErrorCode(err) == conncred.ENotFound {
			return Trust{}, conncred.Errorf(conncred.ENotFound, "connector %q of app %q not found (or deleted)", in.ConnectorID, in.AppID)
		}
		return Trust{}, err
	}
	s.auth.Record(ctx, conncred.AuditEvent{Kind: AuditTrustCreated, AppID: t.AppID, ConnectorID: t.ConnectorID, CredentialID: t.ID})
	return t, nil
}

// GetTrust returns a trust, deleted or not.
func (s *Service) GetTrust(ctx context.Context, id string) (Trust, error) {
	if err := requireAdmin(ctx); err != nil {
		return Trust{}, err
	}
	return s.get(ctx, id)
}

func (s *Service) get(ctx context.Context, id string) (Trust, error) {
	if !ksuid.Valid(id) {
		return Trust{}, notFound(id)
	}
	t, err := s.store.GetTrust(ctx, id)
	if conncred.ErrorCode(err) == conncred.ENotFound {
		return Trust{}, notFound(id)
	}
	return t, err
}

func notFound(id string) error {
	if len(id) > 64 {
		id = id[:64] + "..."
	}
	return conncred.Errorf(conncred.ENotFound, "workload federation trust %q not found", id)
}

// ListTrusts returns a page of trusts; deleted ones only when asked.
func (s *Service) ListTrusts(ctx context.Context, p authority.PageRequest, includeDeleted bool) ([]Trust, string, error) {
	if err := requireAdmin(ctx); err != nil {
		return nil, "", err
	}
	opt, err := authority.PageOptions(p)
	if err != nil {
		return nil, "", err
	}
	opt.IncludeDeleted = includeDeleted
	ts, err := s.store.ListTrusts(ctx, opt)
	if err != nil {
		return nil, "", err
	}
	ts, next := authority.NextPage(ts, opt, func(t Trust) string { return t.ID })
	return ts, next, nil
}

// UpdateTrust changes the fields named in fields (a field mask; empty means
// every updatable field) and returns the trust as stored.
func (s *Service) UpdateTrust(ctx context.Context, id string, in TrustInput, fields []string) (Trust, error) {
	if err := requireAdmin(ctx); err != nil {
		return Trust{}, err
	}
	if len(fields) == 0 {
		fields = updatableFields
	}
	for _, f := range fields {
		if !slices.Contains(updatableFields, f) {
			return Trust{}, conncred.Errorf(conncred.EInvalid, "updateMask names %q; a trust's updatable fields are %s (role, appId and connectorId are fixed: delete the trust and create another)", f, strings.Join(updatableFields, ", "))
		}
	}
	t, err := s.get(ctx, id)
	if err != nil {
		return Trust{}, err
	}
	if t.DeletedAt != nil {
		return Trust{}, conncred.Errorf(conncred.ENotFound, "workload federation trust %q has been deleted", id)
	}
	cur := TrustInput{DisplayName: t.DisplayName, Issuer: t.Issuer, Audiences: t.Audiences, Condition: t.Condition, MaxTokenLifetime: t.MaxTokenLifetime, RequireDPoP: t.RequireDPoP}
	for _, f := range fields {
		switch f {
		case FieldDisplayName:
			cur.DisplayName = in.DisplayName
		case FieldIssuer:
			cur.Issuer = in.Issuer
		case FieldAudiences:
			cur.Audiences = in.Audiences
		case FieldCondition:
			cur.Condition = in.Condition
		case FieldMaxTokenLifetime:
			cur.MaxTokenLifetime = in.MaxTokenLifetime
		case FieldRequireDPoP:
			cur.RequireDPoP = in.RequireDPoP
		}
	}
	if err := s.validate(&cur); err != nil {
		return Trust{}, err
	}
	if cur.DisplayName == "" {
		cur.DisplayName = t.DisplayName
	}
	t.DisplayName, t.Issuer, t.Audiences, t.Condition = cur.DisplayName, cur.Issuer, cur.Audiences, cur.Condition
	t.MaxTokenLifetime, t.RequireDPoP, t.UpdatedAt = cur.MaxTokenLifetime, cur.RequireDPoP, s.auth.Now()
	if err := s.store.UpdateTrust(ctx, t); err != nil {
		if conncred.ErrorCode(err) == conncred.ENotFound {
			return Trust{}, notFound(id)
		}
		return Trust{}, err
	}
	s.cache.invalidate(id)
	s.auth.Record(ctx, conncred.AuditEvent{Kind: AuditTrustUpdated, Reason: "changed: " + strings.Join(fields, ","), AppID: t.AppID, ConnectorID: t.ConnectorID, CredentialID: t.ID})
	return s.get(ctx, id)
}

// DeleteTrust deletes a trust: its subject tokens are refused from now on,
// and so are the access tokens already minted through it, on every node
// (at once where the store announces deletes, else within the cache TTL).
// Deleting twice succeeds and changes nothing.
func (s *Service) DeleteTrust(ctx context.Context, id string) (Trust, error) {
	if err := requireAdmin(ctx); err != nil {
		return Trust{}, err
	}
	if !ksuid.Valid(id) {
		return Trust{}, notFound(id)
	}
	now := s.auth.Now()
	t, err := s.store.DeleteTrust(ctx, id, now)
	if err != nil {
		if conncred.ErrorCode(err) == conncred.ENotFound {
			return Trust{}, notFound(id)
		}
		return Trust{}, err
	}
	s.cache.invalidate(id)
	ev := conncred.AuditEvent{Kind: AuditTrustDeleted, AppID: t.AppID, ConnectorID: t.ConnectorID, CredentialID: t.ID}
	if t.DeletedAt != nil && !t.DeletedAt.Equal(now) {
		ev.Outcome = authority.OutcomeUnchanged
		ev.Reason = fmt.Sprintf("already deleted at %s", t.DeletedAt.UTC().Format(time.RFC3339))
	}
	s.auth.Record(ctx, ev)
	return t, nil
}
