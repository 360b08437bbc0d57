package webconsole

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
)

func (c *Console) connectorRoutes() {
	const conn = Prefix + "/apps/{app}/connectors/{conn}"
	c.handle("POST "+Prefix+"/apps/{app}/connectors", c.connectorCreate)
	c.handle("GET "+conn, c.connectorPage)
	c.handle("POST "+conn, c.connectorRename)
	c.handle("GET "+conn+"/delete", c.connectorDeletePage)
	c.handle("POST "+conn+"/delete", c.connectorDelete)
	c.syncRoutes(conn)
}

func (c *Console) connectorCreate(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	appID := r.PathValue("app")
	req := apitype.CreateConnectorRequest{DisplayName: strings.TrimSpace(r.PostForm.Get("name")), Description: strings.TrimSpace(r.PostForm.Get("description"))}
	err := req.Validate()
	var cn conncred.Connector
	if err == nil {
		cn, err = c.cfg.Auth.CreateConnector(r.Context(), appID, authority.ConnectorInput{DisplayName: req.DisplayName, Description: req.Description})
	}
	if err != nil {
		if conncred.ErrorCode(err) != conncred.EInvalid {
			return err
		}
		v, verr := c.appView(r, appID)
		if verr != nil {
			return verr
		}
		v.ConnectorName, v.ConnectorDesc = req.DisplayName, req.Description
		return c.render(w, r, http.StatusBadRequest, "app", page{Title: "App " + v.App.Name, Nav: "apps", Error: formError("The connector was not created", err), Data: v})
	}
	http.Redirect(w, r, connectorPath(appID, cn.ID)+"?done=connector-created", http.StatusSeeOther)
	return nil
}

// connectorView is the connector page: its credentials, and with the
// baton wing its hosts, syncs, tasks and schedule.
type connectorView struct {
	App         appRow
	Connector   connectorRow
	Updated     *timeView
	Credentials []credentialView
	Next        string
	Active      int // usable credentials on this page
	Sync        *syncView
	HasPolicy   bool
	// The rename form's values.
	RenameName, RenameDescription string
}

func (c *Console) connectorView(r *http.Request) (connectorView, error) {
	ctx := r.Context()
	appID, connID := r.PathValue("app"), r.PathValue("conn")
	app, err := c.cfg.Auth.GetApp(ctx, appID)
	if err != nil {
		return connectorView{}, err
	}
	cn, err := c.cfg.Auth.GetConnector(ctx, appID, connID)
	if err != nil {
		return connectorView{}, err
	}
	if cn.DeletedAt != nil {
		return connectorView{}, conncred.Errorf(conncred.ENotFound, "connector %q was deleted", connID)
	}
	cs, next, err := c.cfg.Auth.ListCredentials(ctx, appID, connID, authority.PageRequest{Token: r.URL.Query().Get("page")})
	if err != nil {
		return connectorView{}, err
	}
	now := c.cfg.Clock.Now()
	v := connectorView{App: viewApp(app), Connector: viewConnector(cn), Updated: tv(cn.UpdatedAt),
		RenameName: cn.DisplayName, RenameDescription: cn.Description, HasPolicy: c.cfg.Policy != nil}
	for _, cr := range cs {
		cv := viewCredential(now, cr)
		if cv.State == "active" {
			v.Active++
		}
		v.Credentials = append(v.Credentials, cv)
	}
	if next != "" {
		v.Next = connectorPath(appID, connID) + "?" + url.Values{"page": {next}}.Encode()
	}
	if c.cfg.Baton != nil {
		s, err := c.syncView(r, appID, connID)
		if err != nil {
			return connectorView{}, err
		}
		v.Sync = &s
	}
	return v, nil
}

func connectorTitle(v connectorView) string {
	name := v.Connector.Name
	if name == "" {
		name = v.Connector.ID
	}
	return "Connector " + name
}

func (c *Console) connectorPage(w http.ResponseWriter, r *http.Request) error {
	v, err := c.connectorView(r)
	if err != nil {
		return err
	}
	return c.render(w, r, http.StatusOK, "connector", page{Title: connectorTitle(v), Nav: "apps", Flash: doneMessage(r), Data: v})
}

func (c *Console) connectorRename(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	appID, connID := r.PathValue("app"), r.PathValue("conn")
	name, desc := strings.TrimSpace(r.PostForm.Get("name")), strings.TrimSpace(r.PostForm.Get("description"))
	req := apitype.UpdateConnectorRequest{Connector: &apitype.ConnectorInput{DisplayName: &name, Description: &desc}, UpdateMask: apitype.FieldMask{"displayName", "description"}}
	err := req.Validate()
	if err == nil {
		_, err = c.cfg.Auth.UpdateConnector(r.Context(), appID, connID, authority.ConnectorUpdate{DisplayName: &name, Description: &desc})
	}
	if err != nil {
		if conncred.ErrorCode(err) != conncred.EInvalid {
			return err
		}
		v, verr := c.connectorView(r)
		if verr != nil {
			return verr
		}
		v.RenameName, v.RenameDescription = name, desc
		return c.render(w, r, http.StatusBadRequest, "connector", page{Title: connectorTitle(v), Nav: "apps", Error: formError("The connector was not saved", err), Data: v})
	}
	http.Redirect(w, r, connectorPath(appID, connID)+"?done=connector-renamed", http.StatusSeeOther)
	return nil
}

func (c *Console) connectorDeletePage(w http.ResponseWriter, r *http.Request) error {
	appID, connID := r.PathValue("app"), r.PathValue("conn")
	app, err := c.cfg.Auth.GetApp(r.Context(), appID)
	if err != nil {
		return err
	}
	cn, err := c.cfg.Auth.GetConnector(r.Context(), appID, connID)
	if err != nil {
		return err
	}
	active, _, partial, err := c.countActive(r.Context(), appID, connID, cascadeScanLimit)
	if err != nil {
		return err
	}
	row := viewConnector(cn)
	v := cascadeView{App: viewApp(app), Connector: &row, Active: active, Partial: partial}
	name := cn.DisplayName
	if name == "" {
		name = cn.ID
	}
	return c.render(w, r, http.StatusOK, "delete", page{Title: "Delete connector " + name + "?", Nav: "apps", Data: v})
}

func (c *Console) connectorDelete(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	appID := r.PathValue("app")
	if err := c.cfg.Auth.DeleteConnector(r.Context(), appID, r.PathValue("conn")); err != nil {
		return err
	}
	http.Redirect(w, r, appPath(appID)+"?done=connector-deleted", http.StatusSeeOther)
	return nil
}
