package wfe

import (
	"context"
	"log/slog"
	"net/url"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/federation"
	"github.com/conncred/conncred/internal/ksuid"
	"github.com/conncred/conncred/wfe/wfedb"
)

// Provider and Store are package wfedb's; see there.
type (
	Provider   = wfedb.Provider
	TrustExtra = wfedb.TrustExtra
	Store      = wfedb.Store
)

// Well-known provider kinds, as the official API spells them.
const (
	WellKnownUnspecified  = "WELL_KNOWN_WORKLOAD_PROVIDER_UNSPECIFIED"
	WellKnownCustom       = "WELL_KNOWN_WORKLOAD_PROVIDER_CUSTOM"
	WellKnownGitHub       = "WELL_KNOWN_WORKLOAD_PROVIDER_GITHUB_ACTIONS"
	WellKnownGitLab       = "WELL_KNOWN_WORKLOAD_PROVIDER_GITLAB_CI"
	WellKnownHCPTerraform = "WELL_KNOWN_WORKLOAD_PROVIDER_HCP_TERRAFORM"
	WellKnownAWS          = "WELL_KNOWN_WORKLOAD_PROVIDER_AWS_IAM_OUTBOUND"
)

// wellKnownIssuers are the issuers a named kind must have. GitLab and AWS
// have one issuer per instance or account, so any is accepted for them.
var wellKnownIssuers = map[string]string{
	WellKnownGitHub:       "https://token.actions.githubusercontent.com",
	WellKnownHCPTerraform: "https://app.terraform.io",
	WellKnownGitLab:       "",
	WellKnownAWS:          "",
	WellKnownCustom:       "",
}

// Audit event kinds of this package (trust events are federation's).
const (
	AuditProviderCreated = "workload_provider.created"
	AuditProviderUpdated = "workload_provider.updated"
	AuditProviderDeleted = "workload_provider.deleted"
)

// Service applies the official shapes' rules.
type Service struct {
	store Store
	fed   *federation.Service
	auth  *authority.Authority
	log   *slog.Logger
}

// New returns a Service over st (the same store federation uses).
func New(st Store, fed *federation.Service, auth *authority.Authority, log *slog.Logger) *Service {
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: st, fed: fed, auth: auth, log: log}
}

// AsStore returns st as a Store when it implements one.
func AsStore(st conncred.Store) (Store, bool) {
	ws, ok := st.(Store)
	return ws, ok
}

// Authorize is the early check of every call, for the HTTP layer to make
// before it reads a body: the official service is for admins.
func (s *Service) Authorize(ctx context.Context) error { return s.fed.Authorize(ctx) }

// ProviderInput is a provider's settable fields.
type ProviderInput struct {
	DisplayName *string
	Description *string
	Disabled    *bool
}

const maxTextBytes = 1024

func checkCommon(in ProviderInput) error {
	if in.Disabled != nil && *in.Disabled {
		return conncred.Errorf(conncred.EInvalid, "disabled: conncred cannot disable a provider; delete its trusts (or the provider) to stop its tokens")
	}
	if in.DisplayName != nil && len(*in.DisplayName) > 200 {
		return conncred.Errorf(conncred.EInvalid, "displayName must be at most 200 bytes")
	}
	if in.Description != nil && len(*in.Description) > maxTextBytes {
		return conncred.Errorf(conncred.EInvalid, "description must be at most %d bytes", maxTextBytes)
	}
	return nil
}

// normalizeIssuer lowercases the host and drops a trailing slash, as the
// official API does on write.
func normalizeIssuer(s string) string {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return s
	}
	u.Host = strings.ToLower(u.Host)
	u.Path = strings.TrimSuffix(u.Path, "/")
	return u.String()
}

// CreateProvider registers an issuer.
func (s *Service) CreateProvider(ctx context.Context, issuerURL, wellKnown string, in ProviderInput) (Provider, error) {
	if err := s.Authorize(ctx); err != nil {
		return Provider{}, err
	}
	if err := checkCommon(in); err != nil {
		return Provider{}, err
	}
	want, ok := wellKnownIssuers[wellKnown]
	if !ok {
		return Provider{}, conncred.Errorf(conncred.EInvalid, "wellKnownProvider is required: one of %s, %s, %s, %s or %s", WellKnownGitHub, WellKnownGitLab, WellKnownHCPTerraform, WellKnownAWS, WellKnownCustom)
	}
	iss := normalizeIssuer(issuerURL)
	if err := s.fed.ValidIssuer(iss); err != nil {
		return Provider{}, conncred.Errorf(conncred.EInvalid, "issuerUrl: %s", strings.TrimPrefix(conncred.ErrorMessage(err), "issuer: "))
	}
	if want != "" && iss != want {
		return Provider{}, conncred.Errorf(conncred.EInvalid, "issuerUrl: a %s provider's issuer is %s; use %s for another issuer", wellKnown, want, WellKnownCustom)
	}
	now := s.auth.Now()
	p := Provider{ID: ksuid.New(now), IssuerURL: iss, WellKnown: wellKnown, CreatedAt: now, UpdatedAt: now}
	if in.DisplayName != nil {
		p.DisplayName = *in.DisplayName
	}
	if in.Description != nil {
		p.Description = *in.Description
	}
	if p.DisplayName == "" {
		p.DisplayName = iss
	}
	if err := s.store.CreateProvider(ctx, p); err != nil {
		return Provider{}, err
	}
	s.auth.Record(ctx, conncred.AuditEvent{Kind: AuditProviderCreated, CredentialID: p.ID, Reason: "issuer " + iss})
	return p, nil
}

// GetProvider returns a provider that is not deleted.
func (s *Service) GetProvider(ctx context.Context, id string) (Provider, error) {
	if err := s.Authorize(ctx); err != nil {
		return Provider{}, err
	}
	return s.provider(ctx, id)
}

func (s *Service) provider(ctx context.Context, id string) (Provider, error) {
	if !ksuid.Valid(id) {
		return Provider{}, providerNotFound(id)
	}
	p, err := s.store.GetProvider(ctx, id)
	if conncred.ErrorCode(err) == conncred.ENotFound {
		return Provider{}, providerNotFound(id)
	}
	return p, err
}

func providerNotFound(id string) error {
	if len(id) > 64 {
		id = id[:64] + "…"
	}
	return conncred.Errorf(conncred.ENotFound, "workload federation provider %q not found", id)
}

// ListProviders returns a page of providers.
func (s *Service) ListProviders(ctx context.Context, p authority.PageRequest) ([]Provider, string, error) {
	if err := s.Authorize(ctx); err != nil {
		return nil, "", err
	}
	opt, err := authority.PageOptions(p)
	if err != nil {
		return nil, "", err
	}
	ps, err := s.store.ListProviders(ctx, opt)
	if err != nil {
		return nil, "", err
	}
	ps, next := authority.NextPage(ps, opt, func(p Provider) string { return p.ID })
	return ps, next, nil
}

// UpdateProvider changes the fields mask names (displayName, description,
// disabled); an empty mask names the fields in set.
func (s *Service) UpdateProvider(ctx context.Context, id string, in ProviderInput, mask []string) (Provider, error) {
	if err := s.Authorize(ctx); err != nil {
		return Provider{}, err
	}
	if err := checkCommon(in); err != nil {
		return Provider{}, err
	}
	p, err := s.provider(ctx, id)
	if err != nil {
		return Provider{}, err
	}
	if len(mask) == 0 {
		if in.DisplayName != nil {
			mask = append(mask, "displayName")
		}
		if in.Description != nil {
			mask = append(mask, "description")
		}
	}
	var changed []string
	for _, f := range mask {
		switch f {
		case "displayName":
			if in.DisplayName == nil || strings.TrimSpace(*in.DisplayName) == "" {
				return Provider{}, conncred.Errorf(conncred.EInvalid, "displayName must not be empty when updateMask names it")
			}
			p.DisplayName = *in.DisplayName
		case "description":
			p.Description = ""
			if in.Description != nil {
				p.Description = *in.Description
			}
		case "disabled":
			// false: checkCommon refused true.
		default:
			return Provider{}, conncred.Errorf(conncred.EInvalid, "updateMask names %q; a provider's updatable fields are displayName, description and disabled (issuerUrl and wellKnownProvider are fixed: create another provider)", trunc(f))
		}
		changed = append(changed, f)
	}
	if len(changed) == 0 {
		return p, nil
	}
	p.UpdatedAt = s.auth.Now()
	if err := s.store.UpdateProvider(ctx, p); err != nil {
		if conncred.ErrorCode(err) == conncred.ENotFound {
			return Provider{}, providerNotFound(id)
		}
		return Provider{}, err
	}
	s.auth.Record(ctx, conncred.AuditEvent{Kind: AuditProviderUpdated, CredentialID: p.ID, Reason: "changed: " + strings.Join(changed, ",")})
	return p, nil
}

// DeleteProvider deletes a provider that no live trust references.
func (s *Service) DeleteProvider(ctx context.Context, id string) error {
	if err := s.Authorize(ctx); err != nil {
		return err
	}
	if !ksuid.Valid(id) {
		return providerNotFound(id)
	}
	err := s.store.DeleteProvider(ctx, id, s.auth.Now())
	switch conncred.ErrorCode(err) {
	case "":
	case conncred.ENotFound:
		return providerNotFound(id)
	case conncred.EConflict:
		return conncred.Errorf(conncred.EConflict, "provider %s still has trusts; delete them first", id)
	default:
		return err
	}
	s.auth.Record(ctx, conncred.AuditEvent{Kind: AuditProviderDeleted, CredentialID: id})
	return nil
}

func trunc(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
