package authority

import (
	"context"
	"fmt"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
	"github.com/conncred/conncred/secret"
)

// CredentialOptions are the optional inputs of a rotate or an admin create.
type CredentialOptions struct {
	DisplayName string
	// Expires is a lifetime from now; ExpiresTime an absolute expiry. At
	// most one may be set.
	Expires     time.Duration
	ExpiresTime *time.Time
}

// RotateCredential adds a credential to a connector and returns it with its
// secret. The connector's other credentials stay valid.
func (a *Authority) RotateCredential(ctx context.Context, appID, connectorID string, opt CredentialOptions) (conncred.Credential, secret.Secret, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return conncred.Credential{}, secret.Secret{}, err
	}
	if _, err := a.liveConnector(ctx, appID, connectorID); err != nil {
		return conncred.Credential{}, secret.Secret{}, a.rotateNotFound(ctx, appID, err)
	}
	c := conncred.Credential{Kind: conncred.KindConnector, AppID: appID, ConnectorID: connectorID}
	c, s, err := a.createCredential(ctx, c, secret.SuffixConnector, opt, nil, a.store.CreateCredential)
	if err != nil {
		return conncred.Credential{}, secret.Secret{}, a.rotateNotFound(ctx, appID, err)
	}
	a.record(ctx, conncred.AuditEvent{Kind: "credential.created", AppID: appID, ConnectorID: connectorID, CredentialID: c.ID})
	return c, s, nil
}

// rotateNotFound names the app, not the connector, when a rotate's connector
// was not found because its app does not exist (or was deleted, perhaps
// while the rotate ran): the caller's mistake is then the appId. The app is
// looked up only on this failure path, so a rotate costs no extra read.
func (a *Authority) rotateNotFound(ctx context.Context, appID string, err error) error {
	if conncred.ErrorCode(err) != conncred.ENotFound {
		return err
	}
	if _, aerr := a.liveApp(ctx, appID); conncred.ErrorCode(aerr) == conncred.ENotFound {
		return aerr
	}
	return err
}

// Inserter stores a new credential under an active-credential cap, as
// conncred.Store.CreateCredential does. A wing passes its own to write more
// in the same transaction (package lifecycle retires older credentials).
type Inserter func(ctx context.Context, c conncred.Credential, limit conncred.ActiveLimit) error

// createCredential fills in c's key, client id, name and times, and stores
// it with insert under the active-credential cap. With pub nil it generates
// the key and returns its secret; with pub given (a key the caller brought)
// it returns a zero Secret, as the server never had one.
func (a *Authority) createCredential(ctx context.Context, c conncred.Credential, suffix string, opt CredentialOptions, pub []byte, insert Inserter) (conncred.Credential, secret.Secret, error) {
	now := a.now()
	max, maxName, err := a.maxLifetime(ctx, c)
	if err != nil {
		return conncred.Credential{}, secret.Secret{}, err
	}
	exp, err := expiry(now, opt, max, maxName)
	if err != nil {
		return conncred.Credential{}, secret.Secret{}, err
	}
	var s secret.Secret
	if pub == nil {
		pub, s, err = secret.Generate()
		if err != nil {
			return conncred.Credential{}, secret.Secret{}, conncred.WrapError(conncred.EInternal, err, "could not generate a key")
		}
	}
	limit := conncred.ActiveLimit{Now: now}
	if c.Kind == conncred.KindConnector && a.cfg.MaxActiveCredentials > 0 {
		limit.MaxActive = a.cfg.MaxActiveCredentials
	}
	c.ID = ksuid.New(now)
	c.PublicKey = pub
	c.Thumbprint = secret.Thumbprint(pub)
	c.CreatedAt, c.UpdatedAt, c.ExpiresAt = now, now, exp
	// A client id is a random name; a clash is rare but possible, and the
	// store's unique index catches it. Try a few names.
	for attempt := 0; ; attempt++ {
		id, err := secret.NewClientID(a.cfg.PublicHost, suffix)
		if err != nil {
			return conncred.Credential{}, secret.Secret{}, conncred.WrapError(conncred.EInternal, err, "could not generate a client id")
		}
		c.ClientID = id.String()
		if opt.DisplayName != "" {
			c.DisplayName = opt.DisplayName
		} else {
			c.DisplayName = id.Name
		}
		err = insert(ctx, c, limit)
		if err == nil {
			return c, s, nil
		}
		switch conncred.ErrorCode(err) {
		case conncred.ENotFound:
			return conncred.Credential{}, secret.Secret{}, notFound("connector", c.ConnectorID)
		case conncred.EConflict:
			// Either the client id clashed or the cap was reached; only a
			// look-up tells which.
			if _, gerr := a.store.GetCredentialByClientID(ctx, c.ClientID); gerr == nil && attempt < 5 {
				continue
			}
			return conncred.Credential{}, secret.Secret{}, a.capError(ctx, c.ConnectorID, limit, err)
		default:
			return conncred.Credential{}, secret.Secret{}, err
		}
	}
}

// expiry applies a maximum lifetime (max, 0 for none, named by maxName in
// a refusal) to a requested expiry.
func expiry(now time.Time, opt CredentialOptions, max time.Duration, maxName string) (*time.Time, error) {
	var exp time.Time
	switch {
	case opt.Expires < 0:
		return nil, conncred.Errorf(conncred.EInvalid, "expires must be positive")
	case opt.Expires > 0 && opt.ExpiresTime != nil:
		return nil, conncred.Errorf(conncred.EInvalid, "give expires or expiresTime, not both")
	case opt.Expires > 0:
		exp = now.Add(opt.Expires)
	case opt.ExpiresTime != nil:
		exp = opt.ExpiresTime.UTC().Truncate(time.Microsecond)
		if !exp.After(now) {
			return nil, conncred.Errorf(conncred.EInvalid, "expiresTime %s is not in the future", exp.Format(time.RFC3339))
		}
	case max > 0:
		exp = now.Add(max)
	default:
		return nil, nil
	}
	if max > 0 && exp.After(now.Add(max)) {
		return nil, conncred.Errorf(conncred.EInvalid, "the requested lifetime of %s exceeds %s of %s; ask for %s or less", fmtDuration(exp.Sub(now).Round(time.Second)), maxName, fmtDuration(max), fmtDuration(max))
	}
	return &exp, nil
}

func fmtDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

// GetCredential returns a connector's credential, revoked or not. Admins may
// read any; a connector may read only its own.
func (a *Authority) GetCredential(ctx context.Context, appID, connectorID, id string) (conncred.Credential, error) {
	p := conncred.PrincipalFrom(ctx)
	if p == nil {
		return conncred.Credential{}, conncred.Errorf(conncred.EUnauthenticated, "authentication required")
	}
	if !p.IsAdmin() && (p.CredentialID != id || p.ConnectorID != connectorID || p.AppID != appID) {
		return conncred.Credential{}, conncred.Errorf(conncred.EPermissionDenied, "a connector credential may read only itself")
	}
	return a.connectorCredential(ctx, appID, connectorID, id)
}

// connectorCredential returns the credential if it belongs to that connector
// of that app; anything else is not found, so ids cannot be probed across
// connectors. The connector itself may be deleted: its credentials are then
// revoked but still readable.
func (a *Authority) connectorCredential(ctx context.Context, appID, connectorID, id string) (conncred.Credential, error) {
	if !ksuid.Valid(id) {
		return conncred.Credential{}, notFound("credential", id)
	}
	c, err := a.store.GetCredential(ctx, id)
	if err != nil {
		return conncred.Credential{}, mapNotFound(err, "credential", id)
	}
	if c.Kind != conncred.KindConnector || c.ConnectorID != connectorID || c.AppID != appID {
		return conncred.Credential{}, notFound("credential", id)
	}
	return c, nil
}

// ListCredentials returns a page of a connector's credentials, revoked ones
// included (they show deletedAt), in creation order.
func (a *Authority) ListCredentials(ctx context.Context, appID, connectorID string, p PageRequest) ([]conncred.Credential, string, error) {
	return a.QueryCredentials(ctx, appID, connectorID, CredentialQuery{Page: p})
}

// RevokeCredential revokes a connector's credential. Revoking twice is not
// an error; the first revocation time stays.
func (a *Authority) RevokeCredential(ctx context.Context, appID, connectorID, id string) (conncred.Credential, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return conncred.Credential{}, err
	}
	c, err := a.connectorCredential(ctx, appID, connectorID, id)
	if err != nil {
		return conncred.Credential{}, err
	}
	return a.revoke(ctx, c)
}

// revoke revokes c and records it: as a revocation when this call made it,
// as unchanged when c was already revoked (before the call, or by a
// concurrent one that got there first).
func (a *Authority) revoke(ctx context.Context, before conncred.Credential) (conncred.Credential, error) {
	now := a.now()
	c, err := a.store.RevokeCredential(ctx, before.ID, now)
	if err != nil {
		return conncred.Credential{}, mapNotFound(err, "credential", before.ID)
	}
	a.creds.invalidate(c.ID)
	kind := "credential.revoked"
	if c.Kind == conncred.KindAdmin {
		kind = "admin.revoked"
	}
	e := conncred.AuditEvent{Kind: kind, AppID: c.AppID, ConnectorID: c.ConnectorID, CredentialID: c.ID}
	if before.DeletedAt != nil || (c.DeletedAt != nil && !c.DeletedAt.Equal(now)) {
		e.Outcome = OutcomeUnchanged
		e.Reason = "already revoked at " + c.DeletedAt.UTC().Format(time.RFC3339Nano)
	}
	a.record(ctx, e)
	return c, nil
}

// recordCascade records a revocation for every credential that a delete
// at time at revoked, with the delete as the reason. The store revokes
// them in the delete's transaction without naming them; they are the ones
// whose revocation time is exactly the delete's (a credential revoked
// earlier keeps its first time).
func (a *Authority) recordCascade(ctx context.Context, f conncred.CredentialFilter, at time.Time, reason string) {
	f.Kind = conncred.KindConnector
	f.IncludeDeleted = true
	f.Limit = 500
	for {
		cs, err := a.store.ListCredentials(ctx, f)
		if err != nil {
			// The delete itself is done and recorded; say which part of
			// the trail is missing rather than fail the request.
			a.log.Error("audit: could not list the credentials a delete revoked; their revocations are not in the trail", "reason", reason, "app_id", f.AppID, "connector_id", f.ConnectorID, "err", err)
			return
		}
		for _, c := range cs {
			if c.DeletedAt != nil && c.DeletedAt.Equal(at) {
				a.record(ctx, conncred.AuditEvent{Kind: "credential.revoked", Reason: reason, AppID: c.AppID, ConnectorID: c.ConnectorID, CredentialID: c.ID})
			}
		}
		if len(cs) < f.Limit {
			return
		}
		f.After = cs[len(cs)-1].ID
	}
}

// CreateAdmin creates a personal-client (admin) credential.
func (a *Authority) CreateAdmin(ctx context.Context, opt CredentialOptions) (conncred.Credential, secret.Secret, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return conncred.Credential{}, secret.Secret{}, err
	}
	c, s, err := a.createCredential(ctx, conncred.Credential{Kind: conncred.KindAdmin}, secret.SuffixPersonal, opt, nil, a.store.CreateCredential)
	if err != nil {
		return conncred.Credential{}, secret.Secret{}, err
	}
	a.record(ctx, conncred.AuditEvent{Kind: "admin.created", CredentialID: c.ID})
	return c, s, nil
}

// GetAdmin returns an admin credential, revoked or not.
func (a *Authority) GetAdmin(ctx context.Context, id string) (conncred.Credential, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return conncred.Credential{}, err
	}
	return a.adminCredential(ctx, id)
}

func (a *Authority) adminCredential(ctx context.Context, id string) (conncred.Credential, error) {
	if !ksuid.Valid(id) {
		return conncred.Credential{}, notFound("admin client", id)
	}
	c, err := a.store.GetCredential(ctx, id)
	if err != nil {
		return conncred.Credential{}, mapNotFound(err, "admin client", id)
	}
	if c.Kind != conncred.KindAdmin {
		return conncred.Credential{}, notFound("admin client", id)
	}
	return c, nil
}

// ListAdmins returns a page of admin credentials, revoked ones included.
func (a *Authority) ListAdmins(ctx context.Context, p PageRequest) ([]conncred.Credential, string, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, "", err
	}
	opt, err := listOptions(p)
	if err != nil {
		return nil, "", err
	}
	opt.IncludeDeleted = true
	cs, err := a.store.ListCredentials(ctx, conncred.CredentialFilter{Kind: conncred.KindAdmin, ListOptions: opt})
	if err != nil {
		return nil, "", err
	}
	cs, next := page(cs, opt, func(x conncred.Credential) string { return x.ID })
	return cs, next, nil
}

// RevokeAdmin revokes an admin credential. The last usable admin credential
// cannot be revoked, so the server never locks its operators out.
func (a *Authority) RevokeAdmin(ctx context.Context, id string) (conncred.Credential, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return conncred.Credential{}, err
	}
	c, err := a.adminCredential(ctx, id)
	if err != nil {
		return conncred.Credential{}, err
	}
	if c.DeletedAt == nil {
		now := a.now()
		n, err := a.store.CountCredentials(ctx, conncred.CredentialFilter{Kind: conncred.KindAdmin, UsableAt: &now})
		if err != nil {
			return conncred.Credential{}, err
		}
		if n <= 1 && c.Usable(now) {
			return conncred.Credential{}, conncred.Errorf(conncred.EInvalid, "refusing to revoke the last usable admin client; create another one first")
		}
	}
	return a.revoke(ctx, c)
}

// Bootstrap creates the first admin credential when the store has no admin
// credential at all, and reports whether it did. It runs as System.
func (a *Authority) Bootstrap(ctx context.Context) (conncred.Credential, secret.Secret, bool, error) {
	n, err := a.store.CountCredentials(ctx, conncred.CredentialFilter{Kind: conncred.KindAdmin})
	if err != nil {
		return conncred.Credential{}, secret.Secret{}, false, err
	}
	if n > 0 {
		return conncred.Credential{}, secret.Secret{}, false, nil
	}
	ctx = conncred.WithPrincipal(ctx, conncred.System)
	c, s, err := a.CreateAdmin(ctx, CredentialOptions{DisplayName: "bootstrap admin"})
	if err != nil {
		return conncred.Credential{}, secret.Secret{}, false, err
	}
	return c, s, true, nil
}
