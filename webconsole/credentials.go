package webconsole

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/lifecycle"
	"github.com/conncred/conncred/secret"
)

// credentialRoutes are rotate, a credential's page and revoke.
//
// How the secret is shown once. The rotate form posts to .../rotate; the
// answer to that POST is the only response that ever holds the secret. With
// JavaScript, htmx sends the form and swaps the answer's <main> into the
// page: the address stays the form's, so a reload shows the empty form,
// there is no history entry for the answer, and htmx keeps no snapshot
// (historyCacheSize 0 in the layout's htmx-config, hx-history="false" on
// the secret). Without JavaScript the answer is a page of its own, which a
// reload would post again: the form's one-time nonce (formGuard) makes
// that second post a page that says the secret was shown, without a
// secret and without a second credential. Every console response is
// Cache-Control: no-store, which also keeps the page out of Chromium's
// back/forward cache, and console.js wipes the secret on pagehide, so Back
// does not bring it back either. The secret never goes into a redirect, a
// cookie, the server's memory past the response, or a log.
func (c *Console) credentialRoutes() {
	const conn = Prefix + "/apps/{app}/connectors/{conn}"
	c.handle("GET "+conn+"/rotate", c.rotatePage)
	c.handle("POST "+conn+"/rotate", c.rotate)
	c.handle("GET "+conn+"/credentials/{id}", c.credentialPage)
	c.handle("GET "+conn+"/credentials/{id}/revoke", c.revokePage)
	c.handle("POST "+conn+"/credentials/{id}/revoke", c.revoke)
}

// rotateView is the rotate form and, after the POST, its answer.
type rotateView struct {
	App       appRow
	Connector connectorRow
	Once      string // the form's one-time nonce
	Overlap   bool   // the lifecycle wing can retire the others after a grace
	TrustHint bool   // the federation wing is on: a trust can replace a secret
	// The form's values, kept when it is shown again with an error.
	Name, Expires, Retire string
	// The answer.
	Done       bool
	Credential *credentialView
	Secret     string
	HasSecret  bool
	Retired    []credentialView
	FileName   string
	Used       bool // the form had been submitted before
}

// retireChoices are the overlap rotation's graces the form offers.
var retireChoices = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour}

func (c *Console) rotateBase(r *http.Request) (rotateView, error) {
	appID, connID := r.PathValue("app"), r.PathValue("conn")
	app, err := c.cfg.Auth.GetApp(r.Context(), appID)
	if err != nil {
		return rotateView{}, err
	}
	cn, err := c.cfg.Auth.GetConnector(r.Context(), appID, connID)
	if err != nil {
		return rotateView{}, err
	}
	if cn.DeletedAt != nil {
		return rotateView{}, conncred.Errorf(conncred.ENotFound, "connector %q was deleted", connID)
	}
	return rotateView{App: viewApp(app), Connector: viewConnector(cn), Once: c.forms.issue(),
		Overlap: c.cfg.Lifecycle != nil, TrustHint: c.cfg.Federation != nil}, nil
}

func rotateTitle(v rotateView) string {
	name := v.Connector.Name
	if name == "" {
		name = v.Connector.ID
	}
	return "Rotate: new credential for " + name
}

func (c *Console) rotatePage(w http.ResponseWriter, r *http.Request) error {
	v, err := c.rotateBase(r)
	if err != nil {
		return err
	}
	return c.render(w, r, http.StatusOK, "rotate", page{Title: rotateTitle(v), Nav: "apps", Data: v})
}

// parseLifetime reads a lifetime such as "30d", "720h" or "90m"; "" is
// none. Days are accepted because a credential's lifetime is thought of in
// days, and Go's durations have no such unit.
func parseLifetime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days <= 0 || days > 100*365 {
			return 0, conncred.Errorf(conncred.EInvalid, "expires %q is not a number of days such as 30d", truncate(s))
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, conncred.Errorf(conncred.EInvalid, "expires %q is not a lifetime; write it as 30d, 720h or 90m, or leave it empty for none", truncate(s))
	}
	return d, nil
}

// fileName is name with everything but letters, digits, dot, dash and
// underscore replaced, for a download's suggested file name.
func fileName(name string) string {
	out := []rune(name)
	for i, r := range out {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			out[i] = '-'
		}
	}
	if len(out) == 0 {
		return "credential"
	}
	return string(out)
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// rotate is the rotate form's POST: its answer is the one response that
// shows the secret.
func (c *Console) rotate(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	v, err := c.rotateBase(r)
	if err != nil {
		return err
	}
	f := r.PostForm
	v.Name, v.Expires, v.Retire = strings.TrimSpace(f.Get("name")), strings.TrimSpace(f.Get("expires")), f.Get("retire")
	fail := func(err error) error {
		switch conncred.ErrorCode(err) {
		case conncred.EInvalid, conncred.EConflict:
			return c.render(w, r, http.StatusBadRequest, "rotate", page{Title: rotateTitle(v), Nav: "apps", Error: formError("No credential was made", err), Data: v})
		}
		return err
	}
	expires, err := parseLifetime(v.Expires)
	if err != nil {
		return fail(err)
	}
	req := apitype.RotateCredentialRequest{DisplayName: v.Name, Expires: apitype.Duration(expires)}
	grace, overlap := retireChoices[v.Retire]
	if v.Retire != "" && v.Retire != "none" && !overlap {
		return fail(conncred.Errorf(conncred.EInvalid, "choose how long the other credentials stay valid from the list"))
	}
	if overlap && c.cfg.Lifecycle == nil {
		return fail(conncred.Errorf(conncred.EInvalid, "this server does not offer overlap rotation; keep the other credentials and revoke them later"))
	}
	req.RetirePreviousAfter = apitype.Duration(grace)
	if err := req.Validate(); err != nil {
		return fail(err)
	}
	if err := c.forms.use(f.Get("once")); err != nil {
		if err == errFormUsed {
			v.Done, v.Used = true, true
			return c.render(w, r, http.StatusConflict, "rotate", page{Title: "Already rotated", Nav: "apps", Data: v})
		}
		return fail(err)
	}
	appID, connID := v.App.ID, v.Connector.ID
	var cred conncred.Credential
	var sec secret.Secret
	var retired []conncred.Credential
	if overlap {
		out, err := c.cfg.Lifecycle.Rotate(r.Context(), lifecycle.RotateRequest{AppID: appID, ConnectorID: connID,
			Options: lifecycle.CredentialOptions{DisplayName: v.Name, Expires: expires}, RetirePreviousAfter: grace})
		if err != nil {
			return fail(err)
		}
		cred, sec, retired = out.Credential, out.Secret, out.Retired
		v.HasSecret = out.HasSecret
	} else {
		cred, sec, err = c.cfg.Auth.RotateCredential(r.Context(), appID, connID, authority.CredentialOptions{DisplayName: v.Name, Expires: expires})
		if err != nil {
			return fail(err)
		}
		v.HasSecret = true
	}
	now := c.cfg.Clock.Now()
	cv := viewCredential(now, cred)
	v.Done, v.Credential, v.FileName = true, &cv, fileName(cred.DisplayName)+".json"
	if v.HasSecret {
		v.Secret = sec.Reveal()
	}
	for _, rc := range retired {
		v.Retired = append(v.Retired, viewCredential(now, rc))
	}
	return c.render(w, r, http.StatusOK, "rotate", page{Title: "New credential " + cred.DisplayName, Nav: "apps", Data: v})
}

// revokeView is a credential's page and its revoke confirmation.
type revokeView struct {
	App         appRow
	Connector   connectorRow
	Credential  credentialView
	Updated     *timeView
	LastActive  bool     // revoking it leaves the connector without a usable credential
	SourceLimit []string // networks it may be used from (lifecycle wing)
	HasLimits   bool
	AuditPath   string
}

func (c *Console) credentialBase(r *http.Request) (revokeView, error) {
	ctx := r.Context()
	appID, connID, id := r.PathValue("app"), r.PathValue("conn"), r.PathValue("id")
	app, err := c.cfg.Auth.GetApp(ctx, appID)
	if err != nil {
		return revokeView{}, err
	}
	cn, err := c.cfg.Auth.GetConnector(ctx, appID, connID)
	if err != nil {
		return revokeView{}, err
	}
	cr, err := c.cfg.Auth.GetCredential(ctx, appID, connID, id)
	if err != nil {
		return revokeView{}, err
	}
	v := revokeView{App: viewApp(app), Connector: viewConnector(cn), Credential: viewCredential(c.cfg.Clock.Now(), cr), Updated: tv(cr.UpdatedAt),
		AuditPath: Prefix + "/audit?range=all&credential=" + id}
	return v, nil
}

func (c *Console) credentialPage(w http.ResponseWriter, r *http.Request) error {
	v, err := c.credentialBase(r)
	if err != nil {
		return err
	}
	if c.cfg.Lifecycle != nil {
		v.HasLimits = true
		if v.SourceLimit, err = c.cfg.Lifecycle.CredentialSourceLimit(r.Context(), v.App.ID, v.Connector.ID, v.Credential.ID); err != nil {
			return err
		}
	}
	return c.render(w, r, http.StatusOK, "credential", page{Title: "Credential " + v.Credential.Name, Nav: "apps", Data: v})
}

func (c *Console) revokePage(w http.ResponseWriter, r *http.Request) error {
	v, err := c.credentialBase(r)
	if err != nil {
		return err
	}
	if v.Credential.State == "active" {
		active, _, partial, err := c.countActive(r.Context(), v.App.ID, v.Connector.ID, cascadeScanLimit)
		if err != nil {
			return err
		}
		v.LastActive = active == 1 && !partial
	}
	return c.render(w, r, http.StatusOK, "revoke", page{Title: "Revoke " + v.Credential.Name + "?", Nav: "apps", Data: v})
}

func (c *Console) revoke(w http.ResponseWriter, r *http.Request) error {
	if err := readForm(w, r); err != nil {
		return err
	}
	appID, connID := r.PathValue("app"), r.PathValue("conn")
	if _, err := c.cfg.Auth.RevokeCredential(r.Context(), appID, connID, r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, connectorPath(appID, connID)+"?done=revoked#credentials", http.StatusSeeOther)
	return nil
}
