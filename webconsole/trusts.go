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

// trustForm is the create form's values, kept when it is shown again.
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
		row := trustRow{ID: t.ID, ClientID: t.ClientID, Name: t.DisplayName, Issuer: t.Issuer, Audiences: strings.Join(t.Audiences, ", "),
			Condition: t.Condition, Role: string(t.Role), RequireDPoP: t.RequireDPoP, Created: tv(t.CreatedAt), LastUsed: relTime(now, t.LastUsedAt)}
		if t.ConnectorID != "" {
			row.Scope = connectorPath(t.AppID, t.ConnectorID)
		}
		if t.MaxTokenLifetime > 0 {
			row.MaxLifetime = t.MaxTokenLifetime.String()
		}
		v.Trusts = append(v.Trusts, row)
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
