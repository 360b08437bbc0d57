package webconsole

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/webhook"
)

func (c *Console) webhookRoutes() {
	c.handle("GET "+Prefix+"/webhooks", c.webhooksPage)
	c.handle("POST "+Prefix+"/webhooks", c.webhookCreate)
	c.handle("GET "+Prefix+"/webhooks/{id}", c.webhookPage)
	c.handle("POST "+Prefix+"/webhooks/{id}/test", c.webhookAction(func(s *webhook.Service, r *http.Request) (string, error) {
		_, err := s.Test(r.Context(), r.PathValue("id"))
		return "webhook-tested", err
	}))
	c.handle("POST "+Prefix+"/webhooks/{id}/delete", c.webhookDelete)
	c.handle("POST "+Prefix+"/webhooks/{id}/deliveries/{event}/redeliver", c.webhookAction(func(s *webhook.Service, r *http.Request) (string, error) {
		return "redelivered", s.Redeliver(r.Context(), r.PathValue("id"), r.PathValue("event"))
	}))
}

func (c *Console) webhooks(r *http.Request) (*webhook.Service, error) {
	if err := c.cfg.Auth.Authorize(r.Context(), authority.ActionWriteWebhooks); err != nil {
		return nil, err
	}
	if c.cfg.Webhooks == nil {
		return nil, conncred.Errorf(conncred.EUnavailable, "this server does not send webhooks.")
	}
	return c.cfg.Webhooks, nil
}

type endpointRow struct {
	ID, URL, Description, Events, Path string
	Created                            *timeView
}

type webhooksView struct {
	Endpoints                 []endpointRow
	Next                      string
	URL, Description, Events  string // the create form's values
	Once                      string
	Secret, SecretFor, Header string // the create's answer
}

func viewEndpoint(e webhook.Endpoint) endpointRow {
	return endpointRow{ID: e.ID, URL: e.URL, Description: e.Description, Events: strings.Join(e.EventTypes, ", "), Path: Prefix + "/webhooks/" + e.ID, Created: tv(e.CreatedAt)}
}

func (c *Console) webhooksView(r *http.Request) (webhooksView, error) {
	s, err := c.webhooks(r)
	if err != nil {
		return webhooksView{}, err
	}
	es, next, err := s.List(r.Context(), webhook.Page{Token: r.URL.Query().Get("page")}, false)
	if err != nil {
		return webhooksView{}, err
	}
	v := webhooksView{Once: c.forms.issue()}
	for _, e := range es {
		v.Endpoints = append(v.Endpoints, viewEndpoint(e))
	}
	if next != "" {
		v.Next = Prefix + "/webhooks?" + url.Values{"page": {next}}.Encode()
	}
	return v, nil
}

func (c *Console) webhooksPage(w http.ResponseWriter, r *http.Request) error {
	v, err := c.webhooksView(r)
	if err != nil {
		return err
	}
	return c.render(w, r, http.StatusOK, "webhooks", page{Title: "Webhooks", Nav: "webhooks", Flash: doneMessage(r), Data: v})
}

// webhookCreate adds an endpoint; its answer shows the signing secret
// once, like a rotate's (one-time form, no-store, hx-history=false).
func (c *Console) webhookCreate(w http.ResponseWriter, r *http.Request) error {
	s, err := c.webhooks(r)
	if err != nil {
		return err
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	in := webhook.CreateInput{URL: strings.TrimSpace(f.Get("url")), Description: strings.TrimSpace(f.Get("description"))}
	for _, t := range strings.Split(f.Get("events"), ",") {
		if t = strings.TrimSpace(t); t != "" {
			in.EventTypes = append(in.EventTypes, t)
		}
	}
	fail := func(err error) error {
		if code := conncred.ErrorCode(err); code != conncred.EInvalid && code != conncred.EConflict {
			return err
		}
		v, verr := c.webhooksView(r)
		if verr != nil {
			return verr
		}
		v.URL, v.Description, v.Events = in.URL, in.Description, f.Get("events")
		return c.render(w, r, http.StatusBadRequest, "webhooks", page{Title: "Webhooks", Nav: "webhooks", Error: formError("The endpoint was not added", err), Data: v})
	}
	if err := c.forms.use(f.Get("once")); err != nil {
		return fail(err)
	}
	e, sec, err := s.Create(r.Context(), in)
	if err != nil {
		return fail(err)
	}
	v := webhooksView{SecretFor: e.URL}
	if sec != nil {
		v.Secret = sec.Reveal()
	}
	return c.render(w, r, http.StatusOK, "webhook_created", page{Title: "Webhook endpoint added", Nav: "webhooks", Data: v})
}

type deliveryRow struct {
	EventID, Type, State, LastError, Redeliver string
	Attempts, LastCode                         int
	Created                                    *timeView
}

type webhookView struct {
	Endpoint   endpointRow
	Deliveries []deliveryRow
	Next       string
}

func (c *Console) webhookPage(w http.ResponseWriter, r *http.Request) error {
	s, err := c.webhooks(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	e, err := s.Get(r.Context(), id)
	if err != nil {
		return err
	}
	ds, next, err := s.Deliveries(r.Context(), id, r.URL.Query().Get("state"), webhook.Page{Token: r.URL.Query().Get("page")})
	if err != nil {
		return err
	}
	v := webhookView{Endpoint: viewEndpoint(e)}
	for _, d := range ds {
		v.Deliveries = append(v.Deliveries, deliveryRow{EventID: d.EventID, Type: d.EventType, State: d.State, LastError: d.LastError,
			Attempts: d.Attempts, LastCode: d.LastCode, Created: tv(d.CreatedAt), Redeliver: v.Endpoint.Path + "/deliveries/" + d.EventID + "/redeliver"})
	}
	if next != "" {
		v.Next = v.Endpoint.Path + "?" + url.Values{"page": {next}}.Encode()
	}
	return c.render(w, r, http.StatusOK, "webhook", page{Title: "Webhook " + e.URL, Nav: "webhooks", Flash: doneMessage(r), Data: v})
}

func (c *Console) webhookAction(act func(s *webhook.Service, r *http.Request) (string, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		s, err := c.webhooks(r)
		if err != nil {
			return err
		}
		if err := readForm(w, r); err != nil {
			return err
		}
		done, err := act(s, r)
		if err != nil {
			return err
		}
		http.Redirect(w, r, Prefix+"/webhooks/"+r.PathValue("id")+"?done="+done, http.StatusSeeOther)
		return nil
	}
}

func (c *Console) webhookDelete(w http.ResponseWriter, r *http.Request) error {
	s, err := c.webhooks(r)
	if err != nil {
		return err
	}
	if err := readForm(w, r); err != nil {
		return err
	}
	if err := s.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	http.Redirect(w, r, Prefix+"/webhooks?done=webhook-deleted", http.StatusSeeOther)
	return nil
}
