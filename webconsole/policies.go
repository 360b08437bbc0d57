package webconsole

import (
	"net/http"
	"strings"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/policy"
)

func (c *Console) policyRoutes() {
	for _, p := range []string{Prefix + "/policies", Prefix + "/policies/apps/{app}", Prefix + "/policies/apps/{app}/connectors/{conn}"} {
		c.handle("GET "+p, c.policyPage)
		c.handle("POST "+p, c.policySet)
	}
}

// policyForm is a scope's policy as the form shows it: each field empty
// to inherit from the scope above.
type policyForm struct {
	MaxLifetime, Warnings, Dormancy, AutoRevoke, RequireDPoP string
}

type effectiveRow struct{ Field, Value, From string }

type policyView struct {
	Scope     string // what the page is about, in words
	Back      string // the app or connector page
	Action    string
	Form      policyForm
	Effective []effectiveRow
}

func policyScope(r *http.Request) policy.Scope {
	app, conn := r.PathValue("app"), r.PathValue("conn")
	switch {
	case conn != "":
		return policy.Scope{Kind: policy.ScopeConnector, ID: conn, AppID: app}
	case app != "":
		return policy.Scope{Kind: policy.ScopeApp, ID: app}
	}
	return policy.Scope{Kind: policy.ScopeServer}
}

// days shows d in days when it is whole days, else as a Go duration.
func days(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strings.TrimSuffix((d/(24*time.Hour)).String(), "ns") + "d"
	}
	return d.String()
}

func durPtr(d *time.Duration) string {
	if d == nil {
		return ""
	}
	return days(*d)
}

func (c *Console) policyView(r *http.Request) (policyView, error) {
	if c.cfg.Policy == nil {
		return policyView{}, conncred.Errorf(conncred.EUnavailable, "this server does not run expiry and dormancy policies.")
	}
	scope := policyScope(r)
	pv, err := c.cfg.Policy.Get(r.Context(), scope)
	if err != nil {
		return policyView{}, err
	}
	v := policyView{Action: r.URL.Path}
	switch scope.Kind {
	case policy.ScopeServer:
		v.Scope = "the server default, under every app and connector"
	case policy.ScopeApp:
		app, err := c.cfg.Auth.GetApp(r.Context(), scope.ID)
		if err != nil {
			return policyView{}, err
		}
		v.Scope, v.Back = "app "+app.DisplayName, appPath(app.ID)
	default:
		cn, err := c.cfg.Auth.GetConnector(r.Context(), scope.AppID, scope.ID)
		if err != nil {
			return policyView{}, err
		}
		v.Scope, v.Back = "connector "+cn.DisplayName, connectorPath(cn.AppID, cn.ID)
	}
	set := pv.Set
	v.Form = policyForm{MaxLifetime: durPtr(set.MaxLifetime), Dormancy: durPtr(set.DormancyThreshold), AutoRevoke: durPtr(set.AutoRevokeAfter)}
	if set.ExpiryWarnings != nil {
		ws := make([]string, len(*set.ExpiryWarnings))
		for i, w := range *set.ExpiryWarnings {
			ws[i] = days(w)
		}
		v.Form.Warnings = strings.Join(ws, ", ")
	}
	if set.RequireDPoP != nil {
		v.Form.RequireDPoP = map[bool]string{true: "yes", false: "no"}[*set.RequireDPoP]
	}
	e := pv.Effective
	from := func(f string) string {
		s, ok := e.From[f]
		if !ok {
			return "not set anywhere"
		}
		return s.String()
	}
	show := func(d time.Duration) string {
		if d == 0 {
			return "none"
		}
		return days(d)
	}
	ws := make([]string, len(e.ExpiryWarnings))
	for i, w := range e.ExpiryWarnings {
		ws[i] = days(w)
	}
	warn := strings.Join(ws, ", ")
	if warn == "" {
		warn = "none"
	}
	v.Effective = []effectiveRow{
		{"Maximum lifetime", show(e.MaxLifetime), from(policy.FieldMaxLifetime)},
		{"Expiry warnings", warn, from(policy.FieldExpiryWarnings)},
		{"Dormant after", show(e.DormancyThreshold), from(policy.FieldDormancyThreshold)},
		{"Revoke when dormant for", show(e.AutoRevokeAfter), from(policy.FieldAutoRevokeAfter)},
		{"Require DPoP", map[bool]string{true: "yes", false: "no"}[e.RequireDPoP], from(policy.FieldRequireDPoP)},
	}
	return v, nil
}

func (c *Console) policyPage(w http.ResponseWriter, r *http.Request) error {
	v, err := c.policyView(r)
	if err != nil {
		return err
	}
	return c.render(w, r, http.StatusOK, "policy", page{Title: "Policy", Nav: "policies", Flash: doneMessage(r), Data: v})
}

// parseOptional reads an optional lifetime field: nil when empty.
func parseOptional(name, s string) (*time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	d, err := parseLifetime(s)
	if err != nil {
		return nil, conncred.Errorf(conncred.EInvalid, "%s %q is not a lifetime; write it as 90d, 720h or 30m, or leave it empty to inherit", name, truncate(s))
	}
	return &d, nil
}

func (c *Console) policySet(w http.ResponseWriter, r *http.Request) error {
	if err := c.cfg.Auth.Authorize(r.Context(), authority.ActionWritePolicies); err != nil {
		return err
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	form := policyForm{MaxLifetime: f.Get("max_lifetime"), Warnings: f.Get("warnings"), Dormancy: f.Get("dormancy"), AutoRevoke: f.Get("auto_revoke"), RequireDPoP: f.Get("require_dpop")}
	var p policy.Policy
	var err error
	if p.MaxLifetime, err = parseOptional("maximum lifetime", form.MaxLifetime); err == nil {
		if p.DormancyThreshold, err = parseOptional("dormant after", form.Dormancy); err == nil {
			p.AutoRevokeAfter, err = parseOptional("revoke when dormant for", form.AutoRevoke)
		}
	}
	if err == nil && strings.TrimSpace(form.Warnings) != "" {
		var ws []time.Duration
		for _, s := range strings.Split(form.Warnings, ",") {
			d, perr := parseOptional("expiry warning", s)
			if perr != nil {
				err = perr
				break
			}
			if d != nil {
				ws = append(ws, *d)
			}
		}
		p.ExpiryWarnings = &ws
	}
	switch form.RequireDPoP {
	case "yes", "no":
		b := form.RequireDPoP == "yes"
		p.RequireDPoP = &b
	}
	if err == nil {
		_, err = c.cfg.Policy.Set(r.Context(), policy.Update{Scope: policyScope(r), Policy: p})
	}
	if err != nil {
		if conncred.ErrorCode(err) != conncred.EInvalid {
			return err
		}
		v, verr := c.policyView(r)
		if verr != nil {
			return verr
		}
		v.Form = form
		return c.render(w, r, http.StatusBadRequest, "policy", page{Title: "Policy", Nav: "policies", Error: formError("The policy was not saved", err), Data: v})
	}
	http.Redirect(w, r, r.URL.Path+"?done=policy-saved", http.StatusSeeOther)
	return nil
}
