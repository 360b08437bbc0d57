package authority

import (
	"context"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
)

// AppInput holds the fields of a new app.
type AppInput struct {
	DisplayName string
	Description string
}

// AppUpdate holds the fields an update changes; nil fields stay as they are.
type AppUpdate struct {
	DisplayName *string
	Description *string
}

// CreateApp creates an app.
func (a *Authority) CreateApp(ctx context.Context, in AppInput) (conncred.App, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return conncred.App{}, err
	}
	now := a.now()
	app := conncred.App{
		ID:          ksuid.New(now),
		DisplayName: in.DisplayName,
		Description: in.Description,
		CreatedAt:   now,
		UpdatedAt:   now,
	}
	if err := a.store.CreateApp(ctx, app); err != nil {
		return conncred.App{}, err
	}
	a.record(ctx, conncred.AuditEvent{Kind: "app.created", AppID: app.ID})
	return app, nil
}

// GetApp returns a live app. A deleted app is not found.
func (a *Authority) GetApp(ctx context.Context, id string) (conncred.App, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return conncred.App{}, err
	}
	return a.liveApp(ctx, id)
}

func (a *Authority) liveApp(ctx context.Context, id string) (conncred.App, error) {
	if !ksuid.Valid(id) {
		return conncred.App{}, notFound("app", id)
	}
	app, err := a.store.GetApp(ctx, id)
	if err != nil {
		return conncred.App{}, mapNotFound(err, "app", id)
	}
	if app.DeletedAt != nil {
		return conncred.App{}, notFound("app", id)
	}
	return app, nil
}

// ListApps returns a page of live apps in creation order.
func (a *Authority) ListApps(ctx context.Context, p PageRequest) ([]conncred.App, string, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return nil, "", err
	}
	opt, err := listOptions(p)
	if err != nil {
		return nil, "", err
	}
	apps, err := a.store.ListApps(ctx, opt)
	if err != nil {
		return nil, "", err
	}
	apps, next := page(apps, opt, func(x conncred.App) string { return x.ID })
	return apps, next, nil
}

// UpdateApp changes an app's display name or description.
func (a *Authority) UpdateApp(ctx context.Context, id string, u AppUpdate) (conncred.App, error) {
	if _, err := requireAdmin(ctx); err != nil {
		return conncred.App{}, err
	}
	app, err := a.liveApp(ctx, id)
	if err != nil {
		return conncred.App{}, err
	}
	if u.DisplayName != nil {
		if *u.DisplayName == "" {
			return conncred.App{}, conncred.Errorf(conncred.EInvalid, "app.displayName must not be empty")
		}
		app.DisplayName = *u.DisplayName
	}
	if u.Description != nil {
		app.Description = *u.Description
	}
	app.UpdatedAt = a.now()
	if err := a.store.UpdateApp(ctx, app); err != nil {
		return conncred.App{}, mapNotFound(err, "app", id)
	}
	a.record(ctx, conncred.AuditEvent{Kind: "app.updated", AppID: app.ID})
	return app, nil
}

// DeleteApp deletes an app, its connectors, and revokes every credential
// below it.
func (a *Authority) DeleteApp(ctx context.Context, id string) error {
	if _, err := requireAdmin(ctx); err != nil {
		return err
	}
	if _, err := a.liveApp(ctx, id); err != nil {
		return err
	}
	now := a.now()
	if err := a.store.DeleteApp(ctx, id, now); err != nil {
		return mapNotFound(err, "app", id)
	}
	// Every credential below the app is now revoked; drop them from the
	// cache so they stop authenticating on this node at once.
	a.creds.invalidate("")
	a.record(ctx, conncred.AuditEvent{Kind: "app.deleted", AppID: id})
	a.recordCascade(ctx, conncred.CredentialFilter{AppID: id}, now, ReasonAppDeleted)
	return nil
}

func notFound(kind, id string) error {
	return conncred.Errorf(conncred.ENotFound, "%s %q not found", kind, quoteID(id))
}

// mapNotFound rewrites a store's ENotFound with a message naming what was
// not found; other errors pass through.
func mapNotFound(err error, kind, id string) error {
	if conncred.ErrorCode(err) == conncred.ENotFound {
		return notFound(kind, id)
	}
	return err
}

// quoteID shortens an id echoed back in an error, so hostile input cannot
// make error bodies or logs large.
func quoteID(id string) string {
	if len(id) > 64 {
		return id[:64] + "..."
	}
	return id
}
