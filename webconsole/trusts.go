package webconsole

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/federation"
)

// wingRoutes are the pages of the optional wings: trusts, policies,
// webhooks, personal clients and session settings. Each answers "this
// server does not run it" when its wing is off, as the API does.
func (c *Console) wingRoutes() {
	c.handle("GET "+Prefix+"/trusts", c.trustsPage)
	c.handle("POST "+Prefix+"/trusts", c.trustCreate)
	c.handle("GET "+Prefix+"/trusts/{id}", c.trustPage)
	c.handle("POST "+Prefix+"/trusts/{id}", c.trustUpdate)
	c.handle("POST "+Prefix+"/trusts/{id}/delete", c.trustDelete)
	c.policyRoutes()
	c.webhookRoutes()
	c.personalRoutes()
	c.settingsRoutes()
}

func (c *Console) federation(r *http.Request) (*federation.Service, error) {
	if err := c.cfg.Auth.Authorize(r.Context(), authority.ActionWriteTrusts); err != nil {
		return nil, err
	}
	if c.cfg.Federation == nil {
		return nil, conncred.Errorf(conncred.EUnavailable, "this server does not run workload federation.")
	}
	return c.cfg.Federation, nil
}

type trustRow struct {
	ID, ClientID, Name, Issuer, Audiences, Condition, Role, Scope string
	MaxLifetime                                                   string
	RequireDPoP                                                   bool
	Created                                                       *timeView
	LastUsed                                                      *timeView
}

type trustsView struct {
	Trusts []trustRow
	Next   string
	Form   trustForm
}

// trustForm is the create (and edit) form's values, kept when it is shown
// again.
type trustForm struct {
	Name, Issuer, Audiences, Condition, Role, AppID, ConnectorID, MaxLifetime string
	RequireDPoP                                                               bool
}

func (c *Console) trustsView(r *http.Request) (trustsView, error) {
	fed, err := c.federation(r)
	if err != nil {
		return trustsView{}, err
	}
	ts, next, err := fed.ListTrusts(r.Context(), authority.PageRequest{Token: r.URL.Query().Get("page")}, false)
	if err != nil {
		return trustsView{}, err
	}
	now := c.cfg.Clock.Now()
	v := trustsView{Form: trustForm{Role: "connector"}}
	for _, t := range ts {
		v.Trusts = append(v.Trusts, viewTrust(now, t))
	}
	if next != "" {
		v.Next = Prefix + "/trusts?" + url.Values{"page": {next}}.Encode()
	}
	return v, nil
}

func (c *Console) trustsPage(w http.ResponseWriter, r *http.Request) error {
	v, err := c.trustsView(r)
	if err != nil {
		return err
	}
	return c.render(w, r, http.StatusOK, "trusts", page{Title: "Workload federation trusts", Nav: "trusts", Flash: doneMessage(r), Data: v})
}

func (c *Console) trustCreate(w http.ResponseWriter, r *http.Request) error {
	fed, err := c.federation(r)
	if err != nil {
		return err
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	form := trustForm{Name: strings.TrimSpace(f.Get("name")), Issuer: strings.TrimSpace(f.Get("issuer")), Audiences: strings.TrimSpace(f.Get("audiences")),
		Condition: strings.TrimSpace(f.Get("condition")), Role: f.Get("role"), AppID: strings.TrimSpace(f.Get("app")),
		ConnectorID: strings.TrimSpace(f.Get("connector")), MaxLifetime: strings.TrimSpace(f.Get("max_lifetime")), RequireDPoP: f.Get("require_dpop") == "on"}
	in := federation.TrustInput{DisplayName: form.Name, Issuer: form.Issuer, Condition: form.Condition, Role: federation.Role(form.Role),
		AppID: form.AppID, ConnectorID: form.ConnectorID, RequireDPoP: form.RequireDPoP}
	for _, a := range strings.Split(form.Audiences, ",") {
		if a = strings.TrimSpace(a); a != "" {
			in.Audiences = append(in.Audiences, a)
		}
	}
	if form.MaxLifetime != "" {
		in.MaxTokenLifetime, err = time.ParseDuration(form.MaxLifetime)
		if err != nil {
			err = conncred.Errorf(conncred.EInvalid, "max token lifetime %q is not a duration such as 15m or 1h", truncate(form.MaxLifetime))
		}
	}
	if err == nil {
		_, err = fed.CreateTrust(r.Context(), in)
	}
	if err != nil {
		if code := conncred.ErrorCode(err); code != conncred.EInvalid && code != conncred.ENotFound && code != conncred.EConflict {
			return err
		}
		v, verr := c.trustsView(r)
		if verr != nil {
			return verr
		}
		v.Form = form
		return c.render(w, r, http.StatusBadRequest, "trusts", page{Title: "Workload federation trusts", Nav: "trusts", Error: formError("The trust was not created", err), Data: v})
	}
	http.Redirect(w, r, Prefix+"/trusts?done=trust-created", http.StatusSeeOther)
	return nil
}

func (c *Console) trustDelete(w http.ResponseWriter, r *http.Request) error {
	fed, err := c.federation(r)
	if err != nil {
		return err
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	if _, err := fed.DeleteTrust(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"/trusts?done=trust-deleted", http.StatusSeeOther)
	return nil
}

// trustView is a trust's page: what it is, and the edit form.
type trustView struct {
	Trust trustRow
	Form  trustForm
}

func viewTrust(now time.Time, t federation.Trust) trustRow {
	row := trustRow{ID: t.ID, ClientID: t.ClientID, Name: t.DisplayName, Issuer: t.Issuer, Audiences: strings.Join(t.Audiences, ", "),
		Condition: t.Condition, Role: string(t.Role), RequireDPoP: t.RequireDPoP, Created: tv(t.CreatedAt), LastUsed: relTime(now, t.LastUsedAt)}
	if t.ConnectorID != "" {
		row.Scope = connectorPath(t.AppID, t.ConnectorID)
	}
	if t.MaxTokenLifetime > 0 {
		row.MaxLifetime = t.MaxTokenLifetime.String()
	}
	return row
}

// trustEditable returns the live trust id names, for its page and its
// update: a deleted trust has nothing left to edit.
func (c *Console) trustEditable(r *http.Request, fed *federation.Service) (federation.Trust, error) {
	t, err := fed.GetTrust(r.Context(), r.PathValue("id"))
	if err != nil {
		return federation.Trust{}, err
	}
	if t.DeletedAt != nil {
		return federation.Trust{}, conncred.Errorf(conncred.ENotFound, "workload federation trust %q has been deleted", t.ID)
	}
	return t, nil
}

func trustTitle(t federation.Trust) string {
	name := t.DisplayName
	if name == "" {
		name = t.ClientID
	}
	return "Trust " + name
}

// trustPage shows a trust and its edit form, filled with what it is now.
func (c *Console) trustPage(w http.ResponseWriter, r *http.Request) error {
	fed, err := c.federation(r)
	if err != nil {
		return err
	}
	t, err := c.trustEditable(r, fed)
	if err != nil {
		return err
	}
	row := viewTrust(c.cfg.Clock.Now(), t)
	v := trustView{Trust: row, Form: trustForm{Name: t.DisplayName, Issuer: t.Issuer, Audiences: row.Audiences, Condition: t.Condition,
		Role: row.Role, MaxLifetime: row.MaxLifetime, RequireDPoP: t.RequireDPoP}}
	return c.render(w, r, http.StatusOK, "trust", page{Title: trustTitle(t), Nav: "trusts", Flash: doneMessage(r), Data: v})
}

// trustUpdate saves the edit form through federation.UpdateTrust, the
// service the API's update calls, with every updatable field: the form
// shows them all. Role, app and connector are fixed, as there.
func (c *Console) trustUpdate(w http.ResponseWriter, r *http.Request) error {
	fed, err := c.federation(r)
	if err != nil {
		return err
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	t, err := c.trustEditable(r, fed)
	if err != nil {
		return err
	}
	f := r.PostForm
	form := trustForm{Name: strings.TrimSpace(f.Get("name")), Issuer: strings.TrimSpace(f.Get("issuer")), Audiences: strings.TrimSpace(f.Get("audiences")),
		Condition: strings.TrimSpace(f.Get("condition")), Role: string(t.Role), MaxLifetime: strings.TrimSpace(f.Get("max_lifetime")), RequireDPoP: f.Get("require_dpop") == "on"}
	in := federation.TrustInput{DisplayName: form.Name, Issuer: form.Issuer, Condition: form.Condition, RequireDPoP: form.RequireDPoP}
	for _, a := range strings.Split(form.Audiences, ",") {
		if a = strings.TrimSpace(a); a != "" {
			in.Audiences = append(in.Audiences, a)
		}
	}
	if form.MaxLifetime != "" {
		if in.MaxTokenLifetime, err = time.ParseDuration(form.MaxLifetime); err != nil {
			err = conncred.Errorf(conncred.EInvalid, "max token lifetime %q is not a duration such as 15m or 1h; leave it empty for the server's token lifetime", truncate(form.MaxLifetime))
		}
	}
	if err == nil {
		_, err = fed.UpdateTrust(r.Context(), t.ID, in, nil)
	}
	if err != nil {
		if code := conncred.ErrorCode(err); code != conncred.EInvalid {
			return err
		}
		v := trustView{Trust: viewTrust(c.cfg.Clock.Now(), t), Form: form}
		return c.render(w, r, http.StatusBadRequest, "trust", page{Title: trustTitle(t), Nav: "trusts", Error: formError("The trust was not saved", err), Data: v})
	}
	http.Redirect(w, r, Prefix+"/trusts/"+url.PathEscape(t.ID)+"?done=trust-saved", http.StatusSeeOther)
	return nil
}
