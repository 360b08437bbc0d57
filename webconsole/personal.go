package webconsole

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/personal"
	"github.com/conncred/conncred/secret"
)

func (c *Console) personalRoutes() {
	c.handle("GET "+Prefix+"/personal-clients", c.personalPage)
	c.handle("POST "+Prefix+"/personal-clients", c.personalCreate)
	c.handle("GET "+Prefix+"/personal-clients/{id}", c.personalClientPage)
	c.handle("POST "+Prefix+"/personal-clients/{id}", c.personalUpdate)
	c.handle("POST "+Prefix+"/personal-clients/{id}/revoke", c.personalRevoke)
}

type personalRow struct {
	ID, ClientID, Name, State, Sources string
	Created, LastUsed                  *timeView
	Expires                            expiryView
	Self                               bool // the credential this session acts as
}

type personalView struct {
	Clients  []personalRow
	Editable bool // the personal-client wing runs: clients have pages

	Next             string
	Name, Expires    string
	Once             string
	Secret, ClientID string // the create's answer
	FileName         string
}

func (c *Console) personalView(r *http.Request) (personalView, error) {
	ctx := r.Context()
	now := c.cfg.Clock.Now()
	v := personalView{Once: c.forms.issue(), Editable: c.cfg.Personal != nil}
	self := ""
	if p := conncred.PrincipalFrom(ctx); p != nil {
		self = p.CredentialID
	}
	add := func(cr conncred.Credential, sources []string) {
		v.Clients = append(v.Clients, personalRow{ID: cr.ID, ClientID: cr.ClientID, Name: cr.DisplayName, State: credentialState(now, cr),
			Sources: strings.Join(sources, ", "), Created: tv(cr.CreatedAt), LastUsed: relTime(now, cr.LastUsedAt), Expires: expiry(now, cr.ExpiresAt), Self: cr.ID == self})
	}
	token := r.URL.Query().Get("page")
	var next string
	if c.cfg.Personal != nil {
		cs, n, err := c.cfg.Personal.List(ctx, 0, token)
		if err != nil {
			return v, err
		}
		for _, cl := range cs {
			add(cl.Credential, cl.AllowSourceCIDR)
		}
		next = n
	} else {
		cs, n, err := c.cfg.Auth.ListAdmins(ctx, authority.PageRequest{Token: token})
		if err != nil {
			return v, err
		}
		for _, cr := range cs {
			add(cr, nil)
		}
		next = n
	}
	if next != "" {
		v.Next = Prefix + "/personal-clients?" + url.Values{"page": {next}}.Encode()
	}
	return v, nil
}

func (c *Console) personalPage(w http.ResponseWriter, r *http.Request) error {
	v, err := c.personalView(r)
	if err != nil {
		return err
	}
	return c.render(w, r, http.StatusOK, "personal", page{Title: "Personal clients", Nav: "personal", Flash: doneMessage(r), Data: v})
}

// personalCreate makes an admin credential; its answer shows the secret
// once, like a rotate's.
func (c *Console) personalCreate(w http.ResponseWriter, r *http.Request) error {
	if err := c.cfg.Auth.Authorize(r.Context(), authority.ActionWriteAdmins); err != nil {
		return err
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	name, exp := strings.TrimSpace(f.Get("name")), strings.TrimSpace(f.Get("expires"))
	fail := func(err error) error {
		if code := conncred.ErrorCode(err); code != conncred.EInvalid && code != conncred.EConflict {
			return err
		}
		v, verr := c.personalView(r)
		if verr != nil {
			return verr
		}
		v.Name, v.Expires = name, exp
		return c.render(w, r, http.StatusBadRequest, "personal", page{Title: "Personal clients", Nav: "personal", Error: formError("No personal client was made", err), Data: v})
	}
	d, err := parseLifetime(exp)
	if err != nil {
		return fail(err)
	}
	if err := c.forms.use(f.Get("once")); err != nil {
		return fail(err)
	}
	var cred conncred.Credential
	var sec secret.Secret
	if c.cfg.Personal != nil {
		var cl personal.Client
		cl, sec, err = c.cfg.Personal.Create(r.Context(), personal.CreateRequest{DisplayName: name, Expires: d})
		cred = cl.Credential
	} else {
		cred, sec, err = c.cfg.Auth.CreateAdmin(r.Context(), authority.CredentialOptions{DisplayName: name, Expires: d})
	}
	if err != nil {
		return fail(err)
	}
	v := personalView{Secret: sec.Reveal(), ClientID: cred.ClientID, FileName: fileName(cred.DisplayName) + ".json"}
	return c.render(w, r, http.StatusOK, "personal_created", page{Title: "Personal client " + cred.DisplayName, Nav: "personal", Data: v})
}

func (c *Console) personalRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := c.cfg.Auth.Authorize(r.Context(), authority.ActionWriteAdmins); err != nil {
		return err
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	var err error
	if c.cfg.Personal != nil {
		err = c.cfg.Personal.Delete(r.Context(), r.PathValue("id"))
	} else {
		_, err = c.cfg.Auth.RevokeAdmin(r.Context(), r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"/personal-clients?done=personal-revoked", http.StatusSeeOther)
	return nil
}

// personalClientView is one personal client's page: what it is, and the
// form that renames it and sets its source networks.
type personalClientView struct {
	Client      personalRow
	ScopedRoles string
	Updated     *timeView
	// The form's values.
	Name, Sources string
}

// personalWing returns the personal-client service: renames and source
// networks are its fields (the admin routes without it have neither).
func (c *Console) personalWing() (*personal.Service, error) {
	if c.cfg.Personal == nil {
		return nil, conncred.Errorf(conncred.EUnavailable, "this server does not offer editing personal clients.")
	}
	return c.cfg.Personal, nil
}

func (c *Console) personalClientView(r *http.Request, cl personal.Client) personalClientView {
	now := c.cfg.Clock.Now()
	self := ""
	if p := conncred.PrincipalFrom(r.Context()); p != nil {
		self = p.CredentialID
	}
	cr := cl.Credential
	row := personalRow{ID: cr.ID, ClientID: cr.ClientID, Name: cr.DisplayName, State: credentialState(now, cr), Sources: strings.Join(cl.AllowSourceCIDR, ", "),
		Created: tv(cr.CreatedAt), LastUsed: relTime(now, cr.LastUsedAt), Expires: expiry(now, cr.ExpiresAt), Self: cr.ID == self}
	return personalClientView{Client: row, ScopedRoles: strings.Join(cl.ScopedRoles, ", "), Updated: tv(cr.UpdatedAt), Name: row.Name, Sources: row.Sources}
}

func personalTitle(cl personal.Client) string {
	name := cl.DisplayName
	if name == "" {
		name = cl.ClientID
	}
	return "Personal client " + name
}

func (c *Console) personalClientPage(w http.ResponseWriter, r *http.Request) error {
	pw, err := c.personalWing()
	if err != nil {
		return err
	}
	cl, err := pw.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return c.render(w, r, http.StatusOK, "personal_client", page{Title: personalTitle(cl), Nav: "personal", Flash: doneMessage(r), Data: c.personalClientView(r, cl)})
}

// personalUpdate renames a personal client and replaces its source
// networks through personal.Update, as the API's update does, naming in
// the mask only what the form changes: an empty name keeps the current one.
func (c *Console) personalUpdate(w http.ResponseWriter, r *http.Request) error {
	pw, err := c.personalWing()
	if err != nil {
		return err
	}
	if err := c.cfg.Auth.Authorize(r.Context(), authority.ActionWriteAdmins); err != nil {
		return err
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	cl, err := pw.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	name, sources := strings.TrimSpace(r.PostForm.Get("name")), r.PostForm.Get("sources")
	var u personal.Update
	if name != "" && name != cl.DisplayName {
		u.DisplayName, u.Mask = &name, append(u.Mask, "displayName")
	}
	if cidrs := splitList(sources); !slices.Equal(cidrs, cl.AllowSourceCIDR) && (len(cidrs) > 0 || len(cl.AllowSourceCIDR) > 0) {
		u.AllowSourceCIDR, u.Mask = cidrs, append(u.Mask, "allowSourceCidr")
	}
	if len(u.Mask) == 0 {
		err = nil // nothing changed: nothing to write or audit
	} else {
		_, err = pw.Update(r.Context(), cl.ID, u)
	}
	if err != nil {
		if code := conncred.ErrorCode(err); code != conncred.EInvalid {
			return err
		}
		v := c.personalClientView(r, cl)
		v.Name, v.Sources = name, sources
		return c.render(w, r, http.StatusBadRequest, "personal_client", page{Title: personalTitle(cl), Nav: "personal", Error: formError("The personal client was not saved", err), Data: v})
	}
	http.Redirect(w, r, Prefix+"/personal-clients/"+url.PathEscape(cl.ID)+"?done=personal-saved", http.StatusSeeOther)
	return nil
}
