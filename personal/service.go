package personal

import (
	"context"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/secret"
)

// Create makes a personal client and returns it with its secret. Every
// input is checked before anything is stored, so a bad network or role
// changes nothing. The limits are written after the credential; until the
// response carries the secret nobody can use it, and if writing them fails
// the credential is revoked, so it never exists without its limits.
func (s *Service) Create(ctx context.Context, req CreateRequest) (Client, secret.Secret, error) {
	if req.Expires < 0 {
		return Client{}, secret.Secret{}, conncred.Errorf(conncred.EInvalid, "expires must be a positive duration such as \"7776000s\"")
	}
	cidrs, err := checkCIDRs(req.AllowSourceCIDR)
	if err != nil {
		return Client{}, secret.Secret{}, err
	}
	roles, err := checkRoles(req.ScopedRoles)
	if err != nil {
		return Client{}, secret.Secret{}, err
	}
	if err := s.withinCaller(ctx, roles); err != nil {
		return Client{}, secret.Secret{}, err
	}
	c, sec, err := s.auth.IssuePersonalClient(ctx, req.DisplayName, req.Expires, req.ExpiresTime)
	if err != nil {
		return Client{}, secret.Secret{}, err
	}
	if err := s.restrict(ctx, c.ID, cidrs, roles); err != nil {
		_, _ = s.auth.RevokeAdmin(ctx, c.ID)
		return Client{}, secret.Secret{}, err
	}
	if len(cidrs) > 0 || len(roles) > 0 {
		s.auth.Record(ctx, conncred.AuditEvent{Kind: AuditRestricted, CredentialID: c.ID, Reason: describe(cidrs, roles)})
	}
	return Client{Credential: c, AllowSourceCIDR: cidrs, ScopedRoles: roles}, sec, nil
}

func (s *Service) restrict(ctx context.Context, id string, cidrs, roles []string) error {
	now := s.auth.Now()
	if len(cidrs) > 0 {
		if err := s.store.SetSourceLimit(ctx, id, cidrs, now); err != nil {
			return err
		}
	}
	if len(roles) > 0 {
		defer s.forgetScope(id)
		return s.store.SetScopedRoles(ctx, id, roles, now)
	}
	return nil
}

func describe(cidrs, roles []string) string {
	r := "allowSourceCidr " + strings.Join(cidrs, ",") + "; scopedRoles " + strings.Join(roles, ",")
	if len(r) > 500 {
		r = r[:500] + "…"
	}
	return r
}

// Get returns a personal client, revoked or not.
func (s *Service) Get(ctx context.Context, id string) (Client, error) {
	c, err := s.auth.GetAdmin(ctx, id)
	if err != nil {
		return Client{}, err
	}
	return s.withFields(ctx, c)
}

func (s *Service) withFields(ctx context.Context, c conncred.Credential) (Client, error) {
	cidrs, err := s.store.SourceLimit(ctx, c.ID)
	if err != nil {
		return Client{}, err
	}
	roles, err := s.store.ScopedRoles(ctx, c.ID)
	if err != nil {
		return Client{}, err
	}
	return Client{Credential: c, AllowSourceCIDR: cidrs, ScopedRoles: roles}, nil
}

// List returns a page of personal clients, revoked ones included.
func (s *Service) List(ctx context.Context, pageSize int, pageToken string) ([]Client, string, error) {
	return s.Search(ctx, SearchRequest{PageSize: pageSize, PageToken: pageToken})
}

// SearchRequest is the official search's input. Query matches the display
// name or client id, case-insensitively. conncred has no users, so a
// Users filter is refused rather than ignored.
type SearchRequest struct {
	Query     string
	Users     []string
	PageSize  int
	PageToken string
}

// Search returns the page's personal clients that match. Matching is done
// per stored page, so a page may hold fewer than PageSize results (even
// none) while NextPageToken still names more, as AIP-158 allows; admin
// clients are few, and the store needs no text index.
func (s *Service) Search(ctx context.Context, req SearchRequest) ([]Client, string, error) {
	if len(req.Users) > 0 {
		return nil, "", conncred.Errorf(conncred.EInvalid, "users: conncred has no users, and its personal clients belong to none; search by query (display name or client id) instead")
	}
	cs, next, err := s.auth.ListPersonalClients(ctx, req.PageSize, req.PageToken)
	if err != nil {
		return nil, "", err
	}
	q := strings.ToLower(strings.TrimSpace(req.Query))
	out := make([]Client, 0, len(cs))
	for _, c := range cs {
		if q != "" && !strings.Contains(strings.ToLower(c.DisplayName), q) && !strings.Contains(strings.ToLower(c.ClientID), q) {
			continue
		}
		pc, err := s.withFields(ctx, c)
		if err != nil {
			return nil, "", err
		}
		out = append(out, pc)
	}
	return out, next, nil
}

// Delete revokes a personal client; the last usable one is kept, as the
// authority decides.
func (s *Service) Delete(ctx context.Context, id string) error {
	_, err := s.auth.RevokeAdmin(ctx, id)
	return err
}

// maskPaths maps the mask paths accepted (official lowerCamelCase and
// their snake_case) to the field they name.
var maskPaths = map[string]string{
	"displayName": "displayName", "display_name": "displayName",
	"expiresTime": "expiresTime", "expires_time": "expiresTime",
	"allowSourceCidr": "allowSourceCidr", "allow_source_cidr": "allowSourceCidr",
	"scopedRoles": "scopedRoles", "scoped_roles": "scopedRoles",
}

// fields returns the set of fields an update changes.
func (u Update) fields() (map[string]bool, error) {
	set := map[string]bool{}
	if len(u.Mask) == 0 {
		// No mask: the fields the caller set, as the gateway treats it.
		set["displayName"] = u.DisplayName != nil
		set["expiresTime"] = u.ExpiresTime != nil
		set["allowSourceCidr"] = u.AllowSourceCIDR != nil
		set["scopedRoles"] = u.ScopedRoles != nil
		return set, nil
	}
	for _, p := range u.Mask {
		f, ok := maskPaths[strings.TrimSpace(p)]
		if !ok {
			return nil, conncred.Errorf(conncred.EInvalid, "updateMask: %q is not a field conncred can update; use displayName, expiresTime, allowSourceCidr or scopedRoles", trunc(p))
		}
		set[f] = true
	}
	return set, nil
}

// Update changes the fields the mask names. Everything is checked before
// anything is written. A revoked client cannot be updated.
func (s *Service) Update(ctx context.Context, id string, u Update) (Client, error) {
	set, err := u.fields()
	if err != nil {
		return Client{}, err
	}
	cur, err := s.Get(ctx, id) // checks the caller is an admin
	if err != nil {
		return Client{}, err
	}
	if cur.DeletedAt != nil {
		return Client{}, conncred.Errorf(conncred.EInvalid, "personal client %s is revoked; create a new one instead", id)
	}
	name, exp := cur.DisplayName, cur.ExpiresAt
	var changed []string
	if set["displayName"] {
		if u.DisplayName == nil || strings.TrimSpace(*u.DisplayName) == "" {
			return Client{}, conncred.Errorf(conncred.EInvalid, "displayName must not be empty when updateMask names it")
		}
		name = *u.DisplayName
		changed = append(changed, "displayName")
	}
	if set["expiresTime"] {
		if exp, err = s.auth.PersonalExpiry(u.ExpiresTime); err != nil {
			return Client{}, err
		}
		changed = append(changed, "expiresTime")
	}
	cidrs, roles := cur.AllowSourceCIDR, cur.ScopedRoles
	if set["allowSourceCidr"] {
		if cidrs, err = checkCIDRs(u.AllowSourceCIDR); err != nil {
			return Client{}, err
		}
		changed = append(changed, "allowSourceCidr")
	}
	if set["scopedRoles"] {
		if roles, err = checkRoles(u.ScopedRoles); err != nil {
			return Client{}, err
		}
		if err := s.withinCaller(ctx, roles); err != nil {
			return Client{}, err
		}
		changed = append(changed, "scopedRoles")
	}
	if len(changed) == 0 {
		return cur, nil
	}
	now := s.auth.Now()
	c, err := s.store.UpdatePersonalClient(ctx, id, name, exp, now)
	if conncred.ErrorCode(err) == conncred.ENotFound {
		return Client{}, conncred.Errorf(conncred.EInvalid, "personal client %s was revoked while being updated", id)
	}
	if err != nil {
		return Client{}, err
	}
	s.auth.Forget(id)
	if set["allowSourceCidr"] {
		if err := s.store.SetSourceLimit(ctx, id, cidrs, now); err != nil {
			return Client{}, err
		}
		if s.sources != nil {
			s.sources.ForgetSourceLimit(id)
		}
	}
	if set["scopedRoles"] {
		err := s.store.SetScopedRoles(ctx, id, roles, now)
		s.forgetScope(id)
		if err != nil {
			return Client{}, err
		}
	}
	s.auth.Record(ctx, conncred.AuditEvent{Kind: AuditUpdated, CredentialID: id, Reason: strings.Join(changed, ",")})
	return Client{Credential: c, AllowSourceCIDR: cidrs, ScopedRoles: roles}, nil
}
