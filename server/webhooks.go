package server

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/webhook"
)

// webhookRoutes serves package webhook's admin API (a conncred extension)
// and the public key of v1a signatures.
func (s *Server) webhookRoutes() {
	const one = apitype.PathWebhooks + "/{id}"
	s.handle("GET "+apitype.PathWebhookSigningKey, s.handleWebhookSigningKey, false)
	s.handle("POST "+apitype.PathWebhooks, s.handleWebhookCreate, true)
	s.handle("GET "+apitype.PathWebhooks, s.handleWebhookList, true)
	s.handle("GET "+one, s.handleWebhookGet, true)
	s.handle("DELETE "+one, s.handleWebhookDelete, true)
	s.handle("POST "+one+"/test", s.handleWebhookTest, true)
	s.handle("GET "+one+"/deliveries", s.handleWebhookDeliveries, true)
	s.handle("POST "+one+"/deliveries/{event_id}/redeliver", s.handleWebhookRedeliver, true)
}

// webhooks returns the service, or the error for a server without it.
func (s *Server) webhooks() (*webhook.Service, error) {
	if s.cfg.Webhooks == nil {
		return nil, &httpError{rpc: rpcUnimplemented, msg: "webhooks are not enabled on this server"}
	}
	return s.cfg.Webhooks, nil
}

func wireWebhook(e webhook.Endpoint) *apitype.Webhook {
	types := e.EventTypes
	if types == nil {
		types = []string{}
	}
	c, u := e.CreatedAt, e.UpdatedAt
	return &apitype.Webhook{ID: e.ID, URL: e.URL, Description: e.Description, Signing: string(e.Signing), EventTypes: types,
		CreatedAt: &c, UpdatedAt: &u, DeletedAt: e.DeletedAt}
}

func (s *Server) handleWebhookSigningKey(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.webhooks()
	if err != nil {
		return err
	}
	k := wh.Keyring()
	return writeJSON(w, apitype.WebhookSigningKeyResponse{PublicKey: k.PublicKeyString(),
		JWK: apitype.PublicJWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.PublicKey())}})
}

func (s *Server) handleWebhookCreate(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.webhooks()
	if err != nil {
		return err
	}
	var req apitype.CreateWebhookRequest
	if err := s.readJSON(w, r, authority.ActionWriteWebhooks, &req); err != nil {
		return err
	}
	e, sec, err := wh.Create(r.Context(), webhook.CreateInput{URL: req.URL, Description: req.Description, Signing: webhook.Signing(req.Signing), EventTypes: req.EventTypes})
	if err != nil {
		return err
	}
	out := apitype.CreateWebhookResponse{Webhook: wireWebhook(e)}
	if sec != nil {
		out.SigningSecret = sec.Reveal()
	}
	return writeJSON(w, out)
}

func (s *Server) handleWebhookList(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.webhooks()
	if err != nil {
		return err
	}
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	es, next, err := wh.List(r.Context(), webhook.Page{Size: p.Size, Token: p.Token}, r.URL.Query().Get("include_deleted") == "true")
	if err != nil {
		return err
	}
	out := apitype.ListWebhooksResponse{List: make([]*apitype.Webhook, 0, len(es)), NextPageToken: next}
	for _, e := range es {
		out.List = append(out.List, wireWebhook(e))
	}
	return writeJSON(w, out)
}

func (s *Server) handleWebhookGet(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.webhooks()
	if err != nil {
		return err
	}
	e, err := wh.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.WebhookResponse{Webhook: wireWebhook(e)})
}

func (s *Server) handleWebhookDelete(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.webhooks()
	if err != nil {
		return err
	}
	if err := s.readJSON(w, r, authority.ActionWriteWebhooks, &apitype.Empty{}); err != nil {
		return err
	}
	if err := wh.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	return writeJSON(w, apitype.Empty{})
}

func (s *Server) handleWebhookTest(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.webhooks()
	if err != nil {
		return err
	}
	if err := s.readJSON(w, r, authority.ActionWriteWebhooks, &apitype.Empty{}); err != nil {
		return err
	}
	id, err := wh.Test(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, apitype.TestWebhookResponse{EventID: id})
}

func (s *Server) handleWebhookDeliveries(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.webhooks()
	if err != nil {
		return err
	}
	p, err := pageRequest(r)
	if err != nil {
		return err
	}
	id, q := r.PathValue("id"), r.URL.Query()
	ds, next, err := wh.Deliveries(r.Context(), id, q.Get("state"), webhook.Page{Size: p.Size, Token: p.Token})
	if err != nil {
		return err
	}
	limit := 0
	if v := q.Get("attempts"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil {
			return conncred.Errorf(conncred.EInvalid, "attempts must be an integer (how many log lines, at most 1000)")
		}
	}
	as, err := wh.Attempts(r.Context(), id, limit)
	if err != nil {
		return err
	}
	out := apitype.ListWebhookDeliveriesResponse{List: make([]*apitype.WebhookDelivery, 0, len(ds)), NextPageToken: next, Attempts: make([]*apitype.WebhookAttempt, 0, len(as))}
	for _, d := range ds {
		n, c, u := d.NextAt, d.CreatedAt, d.UpdatedAt
		out.List = append(out.List, &apitype.WebhookDelivery{EventID: d.EventID, EventType: d.EventType, State: d.State, Attempts: d.Attempts,
			NextAt: &n, LastCode: d.LastCode, LastError: d.LastError, CreatedAt: &c, UpdatedAt: &u})
	}
	for _, a := range as {
		at := a.At
		out.Attempts = append(out.Attempts, &apitype.WebhookAttempt{EventID: a.EventID, Attempt: a.Attempt, At: &at,
			LatencyMs: float64(a.Latency) / float64(time.Millisecond), ResponseCode: a.StatusCode, Outcome: a.Outcome, Error: a.Error})
	}
	return writeJSON(w, out)
}

func (s *Server) handleWebhookRedeliver(w http.ResponseWriter, r *http.Request) error {
	wh, err := s.webhooks()
	if err != nil {
		return err
	}
	if err := s.readJSON(w, r, authority.ActionWriteWebhooks, &apitype.Empty{}); err != nil {
		return err
	}
	if err := wh.Redeliver(r.Context(), r.PathValue("id"), r.PathValue("event_id")); err != nil {
		return err
	}
	return writeJSON(w, apitype.Empty{})
}
