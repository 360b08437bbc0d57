package webconsole

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
)

func (c *Console) appRoutes() {
	c.handle("GET "+Prefix+"/apps", c.appsPage)
	c.handle("POST "+Prefix+"/apps", c.appCreate)
	c.handle("GET "+Prefix+"/apps/{app}", c.appPage)
	c.handle("POST "+Prefix+"/apps/{app}", c.appRename)
	c.handle("GET "+Prefix+"/apps/{app}/delete", c.appDeletePage)
	c.handle("POST "+Prefix+"/apps/{app}/delete", c.appDelete)
}

// maxFormBytes bounds a console form; the largest real one is a few KiB.
const maxFormBytes = 64 << 10

// readForm parses a POSTed form within maxFormBytes.
func readForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return conncred.Errorf(conncred.EInvalid, "the form could not be read (it may be larger than 64 KiB); go back and submit it again")
	}
	return nil
}

// searchScanLimit bounds how many apps a search reads: the authority lists
// apps in pages without a name filter, so a search reads pages and matches
// here.
const searchScanLimit = 10_000

type appRow struct {
	ID, Name, Description, Path string
	Created                     *timeView
}

type appsView struct {
	Query     string
	Apps      []appRow
	Next      string // the next page's URL
	Truncated bool   // the search stopped at searchScanLimit
	// The create form's values, kept when it is shown again with an error.
	Name, Description string
}

func viewApp(a conncred.App) appRow {
	return appRow{ID: a.ID, Name: a.DisplayName, Description: a.Description, Path: appPath(a.ID), Created: tv(a.CreatedAt)}
}

func (c *Console) appsPage(w http.ResponseWriter, r *http.Request) error {
	v, err := c.listApps(r)
	if err != nil {
		return err
	}
	return c.render(w, r, http.StatusOK, "apps", page{Title: "Apps", Nav: "apps", Flash: doneMessage(r), Data: v})
}

// listApps reads one page of apps, or, with ?q=, the apps whose name
// contains q (any case) or whose id is q.
func (c *Console) listApps(r *http.Request) (appsView, error) {
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	v := appsView{Query: q}
	if q == "" {
		apps, next, err := c.cfg.Auth.ListApps(r.Context(), authority.PageRequest{Token: r.URL.Query().Get("page")})
		if err != nil {
			return v, err
		}
		for _, a := range apps {
			v.Apps = append(v.Apps, viewApp(a))
		}
		if next != "" {
			v.Next = Prefix + "/apps?" + url.Values{"page": {next}}.Encode()
		}
		return v, nil
	}
	needle := strings.ToLower(q)
	token, scanned := "", 0
	for {
		apps, next, err := c.cfg.Auth.ListApps(r.Context(), authority.PageRequest{Size: authority.MaxPageSize, Token: token})
		if err != nil {
			return v, err
		}
		for _, a := range apps {
			if a.ID == q || strings.Contains(strings.ToLower(a.DisplayName), needle) {
				v.Apps = append(v.Apps, viewApp(a))
			}
		}
		scanned += len(apps)
		if next == "" {
			return v, nil
		}
		if scanned >= searchScanLimit {
			v.Truncated = true
			return v, nil
		}
		token = next
	}
}

func (c *Console) appCreate(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	req := apitype.CreateAppRequest{DisplayName: strings.TrimSpace(r.PostForm.Get("name")), Description: strings.TrimSpace(r.PostForm.Get("description"))}
	err := req.Validate()
	var app conncred.App
	if err == nil {
		app, err = c.cfg.Auth.CreateApp(r.Context(), authority.AppInput{DisplayName: req.DisplayName, Description: req.Description})
	}
	if err != nil {
		if conncred.ErrorCode(err) != conncred.EInvalid {
			return err
		}
		v, lerr := c.listApps(r)
		if lerr != nil {
			return lerr
		}
		v.Name, v.Description = req.DisplayName, req.Description
		return c.render(w, r, http.StatusBadRequest, "apps", page{Title: "Apps", Nav: "apps", Error: formError("The app was not created", err), Data: v})
	}
	http.Redirect(w, r, appPath(app.ID)+"?done=app-created", http.StatusSeeOther)
	return nil
}

// formError is the message a form shows above itself: what was not done,
// and the rule's own words on what to fix.
func formError(what string, err error) string {
	return what + ": " + conncred.ErrorMessage(err)
}

type appView struct {
	App        appRow
	Updated    *timeView
	Connectors []connectorRow
	Next       string
	// The forms' values, kept when one is shown again with an error.
	RenameName, RenameDescription string
	ConnectorName, ConnectorDesc  string
	HasPolicy                     bool
}

type connectorRow struct {
	ID, Name, Description, Path string
	Created                     *timeView
}

func viewConnector(cn conncred.Connector) connectorRow {
	return connectorRow{ID: cn.ID, Name: cn.DisplayName, Description: cn.Description, Path: connectorPath(cn.AppID, cn.ID), Created: tv(cn.CreatedAt)}
}

func (c *Console) appView(r *http.Request, appID string) (appView, error) {
	app, err := c.cfg.Auth.GetApp(r.Context(), appID)
	if err != nil {
		return appView{}, err
	}
	cs, next, err := c.cfg.Auth.ListConnectors(r.Context(), appID, authority.PageRequest{Token: r.URL.Query().Get("page")})
	if err != nil {
		return appView{}, err
	}
	v := appView{App: viewApp(app), Updated: tv(app.UpdatedAt), RenameName: app.DisplayName, RenameDescription: app.Description, HasPolicy: c.cfg.Policy != nil}
	for _, cn := range cs {
		v.Connectors = append(v.Connectors, viewConnector(cn))
	}
	if next != "" {
		v.Next = appPath(appID) + "?" + url.Values{"page": {next}}.Encode()
	}
	return v, nil
}

func (c *Console) appPage(w http.ResponseWriter, r *http.Request) error {
	v, err := c.appView(r, r.PathValue("app"))
	if err != nil {
		return err
	}
	return c.render(w, r, http.StatusOK, "app", page{Title: "App " + v.App.Name, Nav: "apps", Flash: doneMessage(r), Data: v})
}

// appRename is the rename form: name and description.
func (c *Console) appRename(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	appID := r.PathValue("app")
	name, desc := strings.TrimSpace(r.PostForm.Get("name")), strings.TrimSpace(r.PostForm.Get("description"))
	req := apitype.UpdateAppRequest{App: &apitype.AppInput{DisplayName: &name, Description: &desc}, UpdateMask: apitype.FieldMask{"displayName", "description"}}
	err := req.Validate()
	if err == nil {
		_, err = c.cfg.Auth.UpdateApp(r.Context(), appID, authority.AppUpdate{DisplayName: &name, Description: &desc})
	}
	if err != nil {
		if conncred.ErrorCode(err) != conncred.EInvalid {
			return err
		}
		v, verr := c.appView(r, appID)
		if verr != nil {
			return verr
		}
		v.RenameName, v.RenameDescription = name, desc
		return c.render(w, r, http.StatusBadRequest, "app", page{Title: "App " + v.App.Name, Nav: "apps", Error: formError("The app was not renamed", err), Data: v})
	}
	http.Redirect(w, r, appPath(appID)+"?done=app-renamed", http.StatusSeeOther)
	return nil
}

// cascadeView spells out what a delete takes with it.
type cascadeView struct {
	App        appRow
	Connector  *connectorRow // set for a connector delete
	Connectors []cascadeConnector
	Total      int  // connectors the delete takes (Connectors lists the first cascadeConnectorLimit)
	Active     int  // usable credentials that the delete revokes, as counted
	Partial    bool // counting stopped early: the real number is higher
}

type cascadeConnector struct {
	connectorRow
	Active int
}

// cascadeScanLimit bounds how many credentials a delete's confirmation
// page reads to count the active ones, and cascadeConnectorLimit how many
// connectors it lists and counts: with 10,000 credentials over 1,000
// connectors, counting every connector's took 395 ms; the first 50 keep
// the page near 20 ms.
const (
	cascadeScanLimit      = 20_000
	cascadeConnectorLimit = 50
)

// countActive counts a connector's usable credentials, reading at most
// budget of them; it returns the count, how many it read, and whether it
// stopped early.
func (c *Console) countActive(ctx context.Context, appID, connectorID string, budget int) (active, read int, partial bool, err error) {
	now := c.cfg.Clock.Now()
	token := ""
	for {
		cs, next, err := c.cfg.Auth.ListCredentials(ctx, appID, connectorID, authority.PageRequest{Size: authority.MaxPageSize, Token: token})
		if err != nil {
			return 0, 0, false, err
		}
		for _, cr := range cs {
			if cr.Usable(now) {
				active++
			}
		}
		read += len(cs)
		if next == "" {
			return active, read, false, nil
		}
		if read >= budget {
			return active, read, true, nil
		}
		token = next
	}
}

func (c *Console) appDeletePage(w http.ResponseWriter, r *http.Request) error {
	appID := r.PathValue("app")
	app, err := c.cfg.Auth.GetApp(r.Context(), appID)
	if err != nil {
		return err
	}
	v := cascadeView{App: viewApp(app)}
	budget, token := cascadeScanLimit, ""
	for {
		cs, next, err := c.cfg.Auth.ListConnectors(r.Context(), appID, authority.PageRequest{Size: authority.MaxPageSize, Token: token})
		if err != nil {
			return err
		}
		for _, cn := range cs {
			v.Total++
			if len(v.Connectors) >= cascadeConnectorLimit {
				// Counting is one read per connector; past the limit
				// the page names how many more there are instead.
				v.Partial = true
				continue
			}
			row := cascadeConnector{connectorRow: viewConnector(cn)}
			if budget > 0 {
				n, read, partial, err := c.countActive(r.Context(), appID, cn.ID, budget)
				if err != nil {
					return err
				}
				row.Active, budget = n, budget-read
				v.Partial = v.Partial || partial
			} else {
				v.Partial = true
			}
			v.Active += row.Active
			v.Connectors = append(v.Connectors, row)
		}
		if next == "" {
			break
		}
		token = next
	}
	return c.render(w, r, http.StatusOK, "delete", page{Title: "Delete app " + app.DisplayName + "?", Nav: "apps", Data: v})
}

func (c *Console) appDelete(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	if err := c.cfg.Auth.DeleteApp(r.Context(), r.PathValue("app")); err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"/apps?done=app-deleted", http.StatusSeeOther)
	return nil
}

// doneMessages are the confirmations a redirect after a change shows, by
// the key in its ?done= (fixed texts: nothing from the URL is shown).
var doneMessages = map[string]string{
	"app-created":       "App created. Add a connector below.",
	"app-renamed":       "App saved.",
	"app-deleted":       "App deleted; its connectors are deleted and their credentials revoked.",
	"connector-created": "Connector created. Rotate to give it its first credential.",
	"connector-renamed": "Connector saved.",
	"connector-deleted": "Connector deleted; its credentials are revoked.",
	"revoked":           "Credential revoked. It no longer authenticates, and tokens minted from it are refused.",
	"sync-forced":       "A sync was queued; the connector picks it up at its next poll.",
	"sync-paused":       "Syncs are paused.",
	"sync-resumed":      "Syncs are resumed.",
	"schedule-set":      "Schedule saved.",
	"key-rotated":       "A new signing key signs tokens from now on; tokens signed by the old keys stay valid until they expire.",
	"trust-created":     "Trust created.",
	"trust-saved":       "Trust saved.",
	"trust-deleted":     "Trust deleted.",
	"policy-saved":      "Policy saved.",
	"webhook-deleted":   "Webhook endpoint deleted.",
	"webhook-tested":    "A test event was queued for delivery.",
	"redelivered":       "The event was queued for delivery again.",
	"personal-revoked":  "Personal client revoked.",
	"settings-saved":    "Session settings saved.",
}

func doneMessage(r *http.Request) string { return doneMessages[r.URL.Query().Get("done")] }
