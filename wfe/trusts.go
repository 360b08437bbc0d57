package wfe

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/federation"
	"github.com/conncred/conncred/internal/ksuid"
)

// Trust is a federation trust with the official fields kept beside it.
// ServicePrincipalID is its connector's id ("" for an admin trust).
type Trust struct {
	federation.Trust
	TrustExtra
	ServicePrincipalID string
}

// TrustInput is the official trust's settable fields; nil: not given.
type TrustInput struct {
	DisplayName         *string
	Description         *string
	ConditionExpression *string
	Disabled            *bool
	AllowSourceCidrs    []string
	PassthroughClaims   []string
	ScopedRoleIds       []string
}

// refuseUnhonoured returns a 400 for the official fields conncred cannot
// honour; see the package comment.
func (in TrustInput) refuseUnhonoured() error {
	switch {
	case in.Disabled != nil && *in.Disabled:
		return conncred.Errorf(conncred.EInvalid, "disabled: conncred cannot disable a trust; delete it to stop its tokens (those already minted stop too)")
	case len(in.AllowSourceCidrs) > 0:
		return conncred.Errorf(conncred.EInvalid, "allowSourceCidrs: conncred does not limit a trust's source networks; limit them server-wide with the session settings' connectorSource")
	case len(in.PassthroughClaims) > 0:
		return conncred.Errorf(conncred.EInvalid, "passthroughClaims: conncred does not copy subject-token claims into its tokens (it records the subject in the audit trail); leave passthroughClaims empty")
	case len(in.ScopedRoleIds) > 0:
		return conncred.Errorf(conncred.EInvalid, "scopedRoleIds: a trust's tokens act as its connector with exactly a connector credential's permissions, which no role can narrow; leave scopedRoleIds empty")
	case in.Description != nil && len(*in.Description) > maxTextBytes:
		return conncred.Errorf(conncred.EInvalid, "description must be at most %d bytes", maxTextBytes)
	}
	return nil
}

func (s *Service) connector(ctx context.Context, spID string) (conncred.Connector, error) {
	c, err := s.store.GetConnector(ctx, spID)
	if conncred.ErrorCode(err) == conncred.ENotFound || (err == nil && c.DeletedAt != nil) || !ksuid.Valid(spID) {
		return conncred.Connector{}, conncred.Errorf(conncred.ENotFound, "service principal %q not found: in conncred a service principal is a connector, named by its id", trunc(spID))
	}
	return c, err
}

// CreateTrust makes a trust from a provider for the connector spID.
func (s *Service) CreateTrust(ctx context.Context, spID, providerID string, in TrustInput) (Trust, error) {
	if err := s.Authorize(ctx); err != nil {
		return Trust{}, err
	}
	if err := in.refuseUnhonoured(); err != nil {
		return Trust{}, err
	}
	if providerID == "" {
		return Trust{}, conncred.Errorf(conncred.EInvalid, "providerId is required: create a provider for the issuer first (POST /api/v1/workload_federation/providers)")
	}
	c, err := s.connector(ctx, spID)
	if err != nil {
		return Trust{}, err
	}
	p, err := s.provider(ctx, providerID)
	if err != nil {
		return Trust{}, err
	}
	fin := federation.TrustInput{Issuer: p.IssuerURL, Role: federation.RoleConnector, AppID: c.AppID, ConnectorID: c.ID}
	if in.DisplayName != nil {
		fin.DisplayName = *in.DisplayName
	}
	if in.ConditionExpression != nil {
		fin.Condition = *in.ConditionExpression
	}
	t, err := s.fed.CreateTrust(ctx, fin)
	if err != nil {
		return Trust{}, err
	}
	extra := TrustExtra{ProviderID: p.ID}
	if in.Description != nil {
		extra.Description = *in.Description
	}
	if err := s.store.SetTrustExtra(ctx, t.ID, extra, t.CreatedAt); err != nil {
		// A trust without its provider would list wrongly; take it back.
		if _, derr := s.fed.DeleteTrust(ctx, t.ID); derr != nil {
			s.log.Error("deleting a trust whose official fields could not be stored", "trust_id", t.ID, "err", derr)
		}
		return Trust{}, err
	}
	return Trust{Trust: t, TrustExtra: extra, ServicePrincipalID: c.ID}, nil
}

// trust finds a live trust of the connector spID by client id or id.
func (s *Service) trust(ctx context.Context, spID, key string) (Trust, error) {
	var (
		t   federation.Trust
		err error
	)
	if ksuid.Valid(key) {
		t, err = s.fed.GetTrust(ctx, key)
	} else if strings.HasSuffix(key, "/"+federation.SuffixTrust) && len(key) < 512 {
		t, err = s.store.GetTrustByClientID(ctx, key)
	} else {
		err = conncred.Errorf(conncred.ENotFound, "")
	}
	if conncred.ErrorCode(err) == conncred.ENotFound || (err == nil && (t.DeletedAt != nil || t.Role != federation.RoleConnector || t.ConnectorID != spID)) {
		return Trust{}, conncred.Errorf(conncred.ENotFound, "trust %q of service principal %q not found", trunc(key), trunc(spID))
	}
	if err != nil {
		return Trust{}, err
	}
	return s.withExtra(ctx, t)
}

func (s *Service) withExtra(ctx context.Context, t federation.Trust) (Trust, error) {
	e, err := s.store.TrustExtra(ctx, t.ID)
	if err != nil {
		return Trust{}, err
	}
	return Trust{Trust: t, TrustExtra: e, ServicePrincipalID: t.ConnectorID}, nil
}

// GetTrust returns a live trust of the connector spID.
func (s *Service) GetTrust(ctx context.Context, spID, key string) (Trust, error) {
	if err := s.Authorize(ctx); err != nil {
		return Trust{}, err
	}
	return s.trust(ctx, spID, key)
}

// SearchRequest filters trusts; empty fields do not filter. Query matches
// the display name or description, case-insensitively.
type SearchRequest struct {
	Query              string
	ProviderID         string
	ServicePrincipalID string
	Page               authority.PageRequest
}

// SearchTrusts returns the page's live trusts that match. Matching is per
// stored page, so a page may hold fewer than its size while the next page
// token still names more (AIP-158 allows it; trusts are few).
func (s *Service) SearchTrusts(ctx context.Context, req SearchRequest) ([]Trust, string, error) {
	ts, next, err := s.fed.ListTrusts(ctx, req.Page, false) // checks the caller is an admin
	if err != nil {
		return nil, "", err
	}
	q := strings.ToLower(strings.TrimSpace(req.Query))
	out := make([]Trust, 0, len(ts))
	for _, ft := range ts {
		if req.ServicePrincipalID != "" && (ft.Role != federation.RoleConnector || ft.ConnectorID != req.ServicePrincipalID) {
			continue
		}
		t, err := s.withExtra(ctx, ft)
		if err != nil {
			return nil, "", err
		}
		if req.ProviderID != "" && t.ProviderID != req.ProviderID {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(t.DisplayName), q) && !strings.Contains(strings.ToLower(t.Description), q) {
			continue
		}
		out = append(out, t)
	}
	return out, next, nil
}

// ListTrusts returns a page of the connector spID's live trusts.
func (s *Service) ListTrusts(ctx context.Context, spID string, p authority.PageRequest) ([]Trust, string, error) {
	if err := s.Authorize(ctx); err != nil {
		return nil, "", err
	}
	if _, err := s.connector(ctx, spID); err != nil {
		return nil, "", err
	}
	return s.SearchTrusts(ctx, SearchRequest{ServicePrincipalID: spID, Page: p})
}

// UpdateTrust changes the fields mask names (displayName, description,
// conditionExpression, and the unhonoured ones only to their empty
// values); an empty mask names the fields in set.
func (s *Service) UpdateTrust(ctx context.Context, spID, key string, in TrustInput, mask []string) (Trust, error) {
	if err := s.Authorize(ctx); err != nil {
		return Trust{}, err
	}
	if err := in.refuseUnhonoured(); err != nil {
		return Trust{}, err
	}
	t, err := s.trust(ctx, spID, key)
	if err != nil {
		return Trust{}, err
	}
	if len(mask) == 0 {
		for name, set := range map[string]bool{"displayName": in.DisplayName != nil, "description": in.Description != nil, "conditionExpression": in.ConditionExpression != nil} {
			if set {
				mask = append(mask, name)
			}
		}
	}
	var fedFields []string
	var fin federation.TrustInput
	extra := t.TrustExtra
	descChanged := false
	for _, f := range mask {
		switch f {
		case "displayName":
			if in.DisplayName == nil || strings.TrimSpace(*in.DisplayName) == "" {
				return Trust{}, conncred.Errorf(conncred.EInvalid, "displayName must not be empty when updateMask names it")
			}
			fin.DisplayName = *in.DisplayName
			fedFields = append(fedFields, federation.FieldDisplayName)
		case "conditionExpression":
			if in.ConditionExpression != nil {
				fin.Condition = *in.ConditionExpression
			}
			fedFields = append(fedFields, federation.FieldCondition)
		case "description":
			extra.Description = ""
			if in.Description != nil {
				extra.Description = *in.Description
			}
			descChanged = true
		case "disabled", "allowSourceCidrs", "passthroughClaims", "scopedRoleIds":
			// Only their empty values get here, which is what conncred has.
		default:
			return Trust{}, conncred.Errorf(conncred.EInvalid, "updateMask names %q; a trust's updatable fields are displayName, description and conditionExpression (providerId is fixed: create another trust)", trunc(f))
		}
	}
	if len(fedFields) > 0 {
		ft, err := s.fed.UpdateTrust(ctx, t.ID, fin, fedFields)
		if err != nil {
			return Trust{}, err
		}
		t.Trust = ft
	}
	if descChanged {
		if err := s.store.SetTrustExtra(ctx, t.ID, extra, s.auth.Now()); err != nil {
			return Trust{}, err
		}
		t.TrustExtra = extra
		s.auth.Record(ctx, conncred.AuditEvent{Kind: federation.AuditTrustUpdated, Reason: "changed: description", AppID: t.AppID, ConnectorID: t.ConnectorID, CredentialID: t.ID})
	}
	return t, nil
}

// DeleteTrust deletes a live trust of the connector spID, as conncred's
// own delete does (tokens minted through it stop too).
func (s *Service) DeleteTrust(ctx context.Context, spID, key string) error {
	if err := s.Authorize(ctx); err != nil {
		return err
	}
	t, err := s.trust(ctx, spID, key)
	if err != nil {
		return err
	}
	_, err = s.fed.DeleteTrust(ctx, t.ID)
	return err
}

// maxClaimsJSON bounds TestCEL's claims document.
const maxClaimsJSON = 64 << 10

// TestCEL compiles expression and evaluates it on the claims document, as
// a trust's condition would be. A compile or evaluation failure is part of
// the answer (errMsg), not an error of the call.
func (s *Service) TestCEL(ctx context.Context, expression, claimsJSON string) (matched bool, errMsg string, err error) {
	if err := s.Authorize(ctx); err != nil {
		return false, "", err
	}
	if len(claimsJSON) > maxClaimsJSON {
		return false, "", conncred.Errorf(conncred.EInvalid, "claimsJson is larger than %d bytes", maxClaimsJSON)
	}
	claims := map[string]any{}
	if strings.TrimSpace(claimsJSON) != "" {
		if jerr := json.Unmarshal([]byte(claimsJSON), &claims); jerr != nil {
			return false, "", conncred.Errorf(conncred.EInvalid, "claimsJson must be a JSON object of claims, such as {\"repository\":\"acme/connectors\"}")
		}
	}
	m, cerr := federation.TestCondition(expression, claims)
	if cerr != nil {
		msg := conncred.ErrorMessage(cerr)
		if conncred.ErrorCode(cerr) == "" || conncred.ErrorCode(cerr) == conncred.EInternal {
			msg = cerr.Error()
		}
		return false, msg, nil
	}
	return m, "", nil
}
