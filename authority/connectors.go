package authority

import (
	"context"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
)

// ConnectorInput holds the fields of a new connector.
type ConnectorInput struct {
	CatalogID   string
	DisplayName string
	Description string
	UserIDs     []string
}

// ConnectorUpdate holds the fields an update changes; nil fields stay.
type ConnectorUpdate struct {
	DisplayName *string
	Description *string
	UserIDs     *[]string
}

// CreateConnector creates a connector under a live app.
func (a *Authority) CreateConnector(ctx context.Context, appID string, in ConnectorInput) (conncred.Connector, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return conncred.Connector{}, err
	}
	if _, err := a.liveApp(ctx, appID); err != nil {
		return conncred.Connector{}, err
	}
	now := a.now()
	name := in.DisplayName
	if name == "" {
		name = "Baton" // what ConductorOne's Terraform provider names a self-hosted connector
	}
	c := conncred.Connector{
		ID:          ksuid.New(now),
		AppID:       appID,
		CatalogID:   in.CatalogID,
		DisplayName: name,
		Description: in.Description,
		UserIDs:     in.UserIDs,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	if err := a.store.CreateConnector(ctx, c); err != nil {
		return conncred.Connector{}, mapNotFound(err, "app", appID)
	}
	a.record(ctx, conncred.AuditEvent{Kind: "connector.created", AppID: appID, ConnectorID: c.ID})
	return c, nil
}

// GetConnector returns a live connector of a live app.
func (a *Authority) GetConnector(ctx context.Context, appID, id string) (conncred.Connector, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return conncred.Connector{}, err
	}
	return a.liveConnector(ctx, appID, id)
}

// liveConnector returns the connector if it exists, is not deleted, and
// belongs to appID; a connector under another app is not found, so ids
// cannot be probed across apps.
func (a *Authority) liveConnector(ctx context.Context, appID, id string) (conncred.Connector, error) {
	if !ksuid.Valid(appID) {
		return conncred.Connector{}, notFound("app", appID)
	}
	if !ksuid.Valid(id) {
		return conncred.Connector{}, notFound("connector", id)
	}
	c, err := a.store.GetConnector(ctx, id)
	if err != nil {
		return conncred.Connector{}, mapNotFound(err, "connector", id)
	}
	if c.DeletedAt != nil || c.AppID != appID {
		return conncred.Connector{}, notFound("connector", id)
	}
	return c, nil
}

// ListConnectors returns a page of an app's live connectors.
func (a *Authority) ListConnectors(ctx context.Context, appID string, p PageRequest) ([]conncred.Connector, string, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, "", err
	}
	if _, err := a.liveApp(ctx, appID); err != nil {
		return nil, "", err
	}
	opt, err := listOptions(p)
	if err != nil {
		return nil, "", err
	}
	cs, err := a.store.ListConnectors(ctx, appID, opt)
	if err != nil {
		return nil, "", err
	}
	cs, next := page(cs, opt, func(x conncred.Connector) string { return x.ID })
	return cs, next, nil
}

// UpdateConnector changes a connector's display name, description or users.
func (a *Authority) UpdateConnector(ctx context.Context, appID, id string, u ConnectorUpdate) (conncred.Connector, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return conncred.Connector{}, err
	}
	c, err := a.liveConnector(ctx, appID, id)
	if err != nil {
		return conncred.Connector{}, err
	}
	if u.DisplayName != nil {
		c.DisplayName = *u.DisplayName
	}
	if u.Description != nil {
		c.Description = *u.Description
	}
	if u.UserIDs != nil {
		c.UserIDs = *u.UserIDs
	}
	c.UpdatedAt = a.now()
	if err := a.store.UpdateConnector(ctx, c); err != nil {
		return conncred.Connector{}, mapNotFound(err, "connector", id)
	}
	a.record(ctx, conncred.AuditEvent{Kind: "connector.updated", AppID: appID, ConnectorID: id})
	return c, nil
}

// DeleteConnector deletes a connector and revokes all its credentials.
func (a *Authority) DeleteConnector(ctx context.Context, appID, id string) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	if _, err := a.liveConnector(ctx, appID, id); err != nil {
		return err
	}
	now := a.now()
	if err := a.store.DeleteConnector(ctx, id, now); err != nil {
		return mapNotFound(err, "connector", id)
	}
	a.creds.invalidate("")
	a.record(ctx, conncred.AuditEvent{Kind: "connector.deleted", AppID: appID, ConnectorID: id})
	a.recordCascade(ctx, conncred.CredentialFilter{AppID: appID, ConnectorID: id}, now, ReasonConnectorDeleted)
	return nil
}
