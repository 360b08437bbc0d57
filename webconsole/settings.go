package webconsole

import (
	"net/http"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/lifecycle"
)

func (c *Console) settingsRoutes() {
	c.handle("GET "+Prefix+"/settings", c.settingsPage)
	c.handle("POST "+Prefix+"/settings", c.settingsSave)
}

// restrictionForm is one source restriction as the form shows it.
type restrictionForm struct {
	Enabled bool
	CIDRs   string // comma-separated
}

type settingsView struct {
	Connector, Admin restrictionForm
	Updated          *timeView
}

func (c *Console) lifecycle() (*lifecycle.Service, error) {
	if c.cfg.Lifecycle == nil {
		return nil, conncred.Errorf(conncred.EUnavailable, "this server does not offer session settings.")
	}
	return c.cfg.Lifecycle, nil
}

func (c *Console) settingsPage(w http.ResponseWriter, r *http.Request) error {
	l, err := c.lifecycle()
	if err != nil {
		return err
	}
	st, err := l.SessionSettings(r.Context())
	if err != nil {
		return err
	}
	v := settingsView{
		Connector: restrictionForm{Enabled: st.ConnectorSource.Enabled, CIDRs: strings.Join(st.ConnectorSource.CIDRs, ", ")},
		Admin:     restrictionForm{Enabled: st.PCCAdminSource.Enabled, CIDRs: strings.Join(st.PCCAdminSource.CIDRs, ", ")},
		Updated:   tvp(&st.UpdatedAt),
	}
	return c.render(w, r, http.StatusOK, "settings", page{Title: "Session settings", Nav: "settings", Flash: doneMessage(r), Data: v})
}

func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c *Console) settingsSave(w http.ResponseWriter, r *http.Request) error {
	l, err := c.lifecycle()
	if err != nil {
		return err
	}
	if err := c.cfg.Auth.Authorize(r.Context(), authority.ActionWriteSettings); err != nil {
		return err
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	v := settingsView{
		Connector: restrictionForm{Enabled: f.Get("connector_enabled") == "on", CIDRs: f.Get("connector_cidrs")},
		Admin:     restrictionForm{Enabled: f.Get("admin_enabled") == "on", CIDRs: f.Get("admin_cidrs")},
	}
	_, err = l.UpdateSessionSettings(r.Context(), lifecycle.SessionUpdate{
		ConnectorSource: &lifecycle.SourceRestriction{Enabled: v.Connector.Enabled, CIDRs: splitList(v.Connector.CIDRs)},
		PCCAdminSource:  &lifecycle.SourceRestriction{Enabled: v.Admin.Enabled, CIDRs: splitList(v.Admin.CIDRs)},
	})
	if err != nil {
		if code := conncred.ErrorCode(err); code != conncred.EInvalid && code != conncred.EConflict {
			return err
		}
		return c.render(w, r, http.StatusBadRequest, "settings", page{Title: "Session settings", Nav: "settings", Error: formError("The settings were not saved", err), Data: v})
	}
	http.Redirect(w, r, Prefix+"/settings?done=settings-saved", http.StatusSeeOther)
	return nil
}
