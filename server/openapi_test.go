package server

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/baton"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// The document is validated with kin-openapi, which reads OpenAPI 3.1 and
// checks 3.1 documents' schemas as JSON Schema 2020-12 (through
// santhosh-tekuri/jsonschema), so nullable types are written ["string",
// "null"] and const, examples and the like mean what they say.

// loadOpenAPI parses the embedded document once per test binary.
var loadOpenAPI = sync.OnceValues(func() (*openapi3.T, error) {
	return openapi3.NewLoader().LoadFromData(openAPIDoc)
})

func openAPI(tb testing.TB) *openapi3.T {
	tb.Helper()
	doc, err := loadOpenAPI()
	if err != nil {
		tb.Fatalf("loading server/openapi.json: %v", err)
	}
	return doc
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc := openAPI(t)
	if !doc.IsOpenAPI31OrLater() || !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("server/openapi.json is not a valid OpenAPI document: %v", err)
	}
	// Diffable: the file is exactly its own two-space indentation, so an
	// edit by hand or by tool shows as the lines it changes.
	var want bytes.Buffer
	if err := json.Indent(&want, bytes.TrimSpace(openAPIDoc), "", "  "); err != nil {
		t.Fatal(err)
	}
	want.WriteByte('\n')
	if !bytes.Equal(openAPIDoc, want.Bytes()) {
		t.Errorf("server/openapi.json is not indented with two spaces and a final newline; reformat it (python3 -m json.tool --indent 2 --no-ensure-ascii)")
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			roles, _ := op.Extensions["x-conncred-roles"].([]any)
			if len(roles) == 0 {
				t.Errorf("%s %s: no x-conncred-roles; say who may call it", method, path)
			}
			if op.Description == "" || op.OperationID == "" {
				t.Errorf("%s %s: needs an operationId and a description", method, path)
			}
		}
	}
}

// muxPathToOpenAPI turns a ServeMux pattern's path into an OpenAPI path
// template: wildcards keep their names, so the document's path parameters
// are the names the handlers read with PathValue; "{name...}" loses its
// dots and a trailing "{$}" (an exact match) goes.
func muxPathToOpenAPI(p string) string {
	p = strings.TrimSuffix(p, "{$}")
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "...}") {
			segs[i] = strings.TrimSuffix(s, "...}") + "}"
		}
	}
	return strings.Join(segs, "/")
}

// TestOpenAPIDocumentsEveryRoute compares the document with the routes of a
// server built as serve builds it: with every wing (newBatonEnvWith
// registers every wing as serve does, and the test says which one is
// missing if not). A server built
// bare would register fewer routes, and the wings' routes would go
// unchecked.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := openAPI(t)
	e := newBatonEnvWith(t, baton.Config{}, authority.Config{})
	s := e.srv.Config.Handler.(*Server)
	for name, missing := range map[string]bool{
		"baton": s.cfg.Baton == nil, "federation": s.cfg.Federation == nil, "lifecycle": s.cfg.Lifecycle == nil,
		"policy": s.cfg.Policy == nil, "webhooks": s.cfg.Webhooks == nil, "personal": s.cfg.Personal == nil,
		"wfe": s.cfg.Wfe == nil, "dpop": s.cfg.DPoP == nil, "dpop policy": s.cfg.DPoPPolicy == nil, "console": s.cfg.Console == nil,
	} {
		if missing {
			t.Errorf("the test server lacks the %s wing that serve registers; its routes would go unchecked", name)
		}
	}
	registered := map[string]bool{}
	for _, p := range s.patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok || strings.Contains(method, "/") {
			t.Errorf("pattern %q has no method; every route must name one to be documented", p)
			continue
		}
		registered[method+" "+muxPathToOpenAPI(path)] = true
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	for _, r := range sortedKeys(registered) {
		if !documented[r] {
			t.Errorf("route %s is served but not in server/openapi.json; document it", r)
		}
	}
	for _, d := range sortedKeys(documented) {
		if !registered[d] {
			t.Errorf("server/openapi.json documents %s, which the server does not register", d)
		}
	}
	if len(registered) < 30 {
		t.Errorf("only %d routes recorded; is handle still recording them?", len(registered))
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checker sends requests to a test server and validates each response (and
// each request meant to be valid) against the document's operation for the
// route the server's own mux picks.
type checker struct {
	t    *testing.T
	e    *env
	doc  *openapi3.T
	srv  *Server
	seen map[string][]int // operationId -> statuses validated
}

func newChecker(t *testing.T, e *env) *checker {
	t.Helper()
	return &checker{t: t, e: e, doc: openAPI(t), srv: e.srv.Config.Handler.(*Server), seen: map[string][]int{}}
}

// call sends method path with the headers and body, fails unless the answer
// has status want, validates the answer against the document, and returns
// its body. validRequest also validates the request itself.
func (c *checker) call(method, path string, headers map[string]string, body string, want int, validRequest bool) []byte {
	c.t.Helper()
	st, got := c.exchange(method, path, headers, body, validRequest)
	if st != want {
		c.t.Fatalf("%s %s: got %d, want %d; body %.300s", method, path, st, want, got)
	}
	return got
}

// send is call for any status: it validates the answer and returns its
// status.
func (c *checker) send(method, path string, headers map[string]string, body string) int {
	c.t.Helper()
	st, _ := c.exchange(method, path, headers, body, false)
	return st
}

func (c *checker) exchange(method, path string, headers map[string]string, body string, validRequest bool) (int, []byte) {
	c.t.Helper()
	newReq := func() *http.Request {
		req, err := http.NewRequest(method, c.e.srv.URL+path, strings.NewReader(body))
		if err != nil {
			c.t.Fatal(err)
		}
		if body == "" {
			req.Body = http.NoBody
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		return req
	}
	resp, err := c.e.srv.Client().Do(newReq())
	if err != nil {
		c.t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	route, params := c.route(newReq())
	if route == nil {
		c.t.Fatalf("%s %s: no documented operation for the route the server picked", method, path)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true, AuthenticationFunc: bearerPresent}
	in := &openapi3filter.RequestValidationInput{Request: newReq(), PathParams: params, Route: route, Options: opts}
	if validRequest {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			c.t.Errorf("%s %s: the request does not match operation %s: %v", method, path, route.Operation.OperationID, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header, Options: opts}
	out.SetBodyBytes(got)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		c.t.Errorf("%s %s: %d response does not match operation %s: %v\nbody: %.500s", method, path, resp.StatusCode, route.Operation.OperationID, err, got)
	}
	id := route.Operation.OperationID
	if !slices.Contains(c.seen[id], resp.StatusCode) {
		c.seen[id] = append(c.seen[id], resp.StatusCode)
	}
	return resp.StatusCode, got
}

// bearerPresent stands in for authentication when requests are validated:
// the server itself decides whether a token is good, the document only says
// one is needed.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if strings.HasPrefix(in.RequestValidationInput.Request.Header.Get("Authorization"), "Bearer ") {
		return nil
	}
	return errors.New("no bearer token")
}

// route finds the document's operation for the pattern the server's mux
// matches req with, and the path parameters by the pattern's wildcards.
func (c *checker) route(req *http.Request) (*routers.Route, map[string]string) {
	_, pattern := c.srv.mux.Handler(req)
	method, muxPath, ok := strings.Cut(pattern, " ")
	if !ok {
		return nil, nil
	}
	path := muxPathToOpenAPI(muxPath)
	item := c.doc.Paths.Value(path)
	if item == nil || item.GetOperation(method) == nil {
		return nil, nil
	}
	params := map[string]string{}
	urlSegs := strings.Split(req.URL.Path, "/")
	for i, s := range strings.Split(path, "/") {
		if strings.HasPrefix(s, "{") && i < len(urlSegs) {
			params[strings.Trim(s, "{}")] = urlSegs[i]
		}
	}
	return &routers.Route{Spec: c.doc, Path: path, PathItem: item, Method: method, Operation: item.GetOperation(method)}, params
}

// requireCovered fails for every documented operation no 200 was validated
// for, and logs what each one was exercised with.
func (c *checker) requireCovered(statuses map[string][]int) {
	c.t.Helper()
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			got := c.seen[op.OperationID]
			if !slices.Contains(got, http.StatusOK) {
				c.t.Errorf("%s %s (%s): no 200 response was validated", method, path, op.OperationID)
			}
			for _, st := range statuses[op.OperationID] {
				if !slices.Contains(got, st) {
					c.t.Errorf("%s %s (%s): no %d response was validated", method, path, op.OperationID, st)
				}
			}
		}
	}
	ids := make([]string, 0, len(c.seen))
	for id := range c.seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	n := 0
	for _, id := range ids {
		slices.Sort(c.seen[id])
		n += len(c.seen[id])
		c.t.Logf("%-32s %v", id, c.seen[id])
	}
	c.t.Logf("%d operation/status pairs validated over %d operations", n, len(ids))
}

// schema validates body against a named component schema, for the
// answers that belong to no operation (unknown path, wrong method).
func (c *checker) schema(name string, body []byte) {
	c.t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		c.t.Fatalf("%s: body is not JSON: %q", name, body)
	}
	if err := c.doc.Components.Schemas[name].Value.VisitJSON(v, openapi3.EnableJSONSchema2020()); err != nil {
		c.t.Errorf("body does not match #/components/schemas/%s: %v\nbody: %s", name, err, body)
	}
}

func formHeaders(token string) map[string]string {
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return h
}

func jsonHeaders(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token, "Content-Type": "application/json"}
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func jsonField(tb testing.TB, body []byte, path ...string) string {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		tb.Fatalf("not a JSON object: %q", body)
	}
	return str(m, path...)
}

func TestOpenAPIIsServedPublicAndCacheable(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	get := func(h map[string]string) *http.Response {
		t.Helper()
		req, err := http.NewRequest("GET", e.srv.URL+PathOpenAPI, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	resp := get(nil)
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, openAPIDoc) {
		t.Fatalf("GET %s without a token: %d, %d bytes; want 200 and the embedded document (%d bytes)", PathOpenAPI, resp.StatusCode, len(body), len(openAPIDoc))
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "Cache-Control": "public, max-age=3600", "ETag": openAPIETag} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
	tests := []struct {
		ifNoneMatch string
		want        int
	}{
		{openAPIETag, http.StatusNotModified},
		{"W/" + openAPIETag, http.StatusNotModified},
		{`"old", ` + openAPIETag, http.StatusNotModified},
		{"*", http.StatusNotModified},
		{`"old"`, http.StatusOK},
		{strings.Trim(openAPIETag, `"`), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.ifNoneMatch, func(t *testing.T) {
			resp := get(map[string]string{"If-None-Match": tt.ifNoneMatch})
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want {
				t.Fatalf("got %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusNotModified && (len(b) != 0 || resp.Header.Get("ETag") != openAPIETag) {
				t.Errorf("304 with %d body bytes and ETag %q, want none and %q", len(b), resp.Header.Get("ETag"), openAPIETag)
			}
		})
	}
}

// TestOpenAPISecurityMatchesTheServer holds each operation's security and
// x-conncred-roles to what the server does: an operation that needs a token
// answers 401 without one and a public one does not; with a connector's
// token, exactly the operations that do not list the connector role answer
// 403. Every answer is validated against the document too.
func TestOpenAPISecurityMatchesTheServer(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	c := newChecker(t, e)
	appID, connID := e.setup()
	credID, clientID, sec := e.rotate(appID, connID)
	conn := e.token(clientID, sec)
	// Self-revocation would cut conn off for the operations after it, so it
	// gets a credential of its own.
	_, ownCID, ownSec := e.rotate(appID, connID)
	tokens := map[string]string{"selfRevokeCredential": e.token(ownCID, ownSec)}
	// Bodies are checked before the authority decides who may act, so each
	// operation gets one that passes that check.
	bodies := map[string]string{
		"createApp":        `{"displayName":"x"}`,
		"updateApp":        `{"app":{}}`,
		"updateConnector":  `{"connector":{}}`,
		"rotateCredential": `{"appId":"` + appID + `","connectorId":"` + connID + `"}`,
	}
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			url := strings.NewReplacer("{app_id}", appID, "{connector_id}", connID).Replace(path)
			if strings.Contains(path, "/credentials/{id}") {
				url = strings.Replace(url, "{id}", credID, 1) // the connector's own
			}
			url = strings.Replace(url, "{id}", "2HErg7BRmNdHgX8sTCWVq4E1fyh", 1)
			body := ""
			if method != http.MethodGet {
				body = cmp.Or(bodies[op.OperationID], "{}")
			}
			needsToken := op.Security == nil || len(*op.Security) > 0
			roles, _ := op.Extensions["x-conncred-roles"].([]any)
			connectorMay := slices.Contains(roles, any("connector"))
			t.Run(op.OperationID, func(t *testing.T) {
				c := *c
				c.t = t
				st := c.send(method, url, map[string]string{"Content-Type": "application/json"}, body)
				if needsToken != (st == http.StatusUnauthorized) {
					t.Errorf("%s %s without a token: %d; the document says a token is needed: %v", method, path, st, needsToken)
				}
				if !needsToken {
					return
				}
				st = c.send(method, url, jsonHeaders(cmp.Or(tokens[op.OperationID], conn)), body)
				if connectorMay == (st == http.StatusForbidden) {
					t.Errorf("%s %s with a connector's token: %d; x-conncred-roles %v", method, path, st, roles)
				}
			})
		}
	}
}
