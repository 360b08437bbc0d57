package webconsole

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/personal"
	"github.com/conncred/conncred/secret"
)

func (c *Console) personalRoutes() {
	c.handle("GET "+Prefix+"/personal-clients", c.personalPage)
	c.handle("POST "+Prefix+"/personal-clients", c.personalCreate)
	c.handle("POST "+Prefix+"/personal-clients/{id}/revoke", c.personalRevoke)
}

type personalRow struct {
	ID, ClientID, Name, State, Sources string
	Created, LastUsed                  *timeView
	Expires                            expiryView
	Self                               bool // the credential this session acts as
}

type personalView struct {
	Clients          []personalRow
	Next             string
	Name, Expires    string
	Once             string
	Secret, ClientID string // the create's answer
	FileName         string
}

func (c *Console) personalView(r *http.Request) (personalView, error) {
	ctx := r.Context()
	now := c.cfg.Clock.Now()
	v := personalView{Once: c.forms.issue()}
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
