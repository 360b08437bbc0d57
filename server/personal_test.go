package server

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/personal"
)

// sdkPersonalClient mirrors the official Go SDK's shared.PersonalClient
// field for field (json names and types from pkg/models/shared/
// personalclient.go): what the SDK decodes our answers into.
type sdkPersonalClient struct {
	AllowSourceCidr []string   `json:"allowSourceCidr,omitempty"`
	ClientID        *string    `json:"clientId,omitempty"`
	CreatedAt       *time.Time `json:"createdAt,omitempty"`
	DeletedAt       *time.Time `json:"deletedAt,omitempty"`
	DisplayName     *string    `json:"displayName,omitempty"`
	ExpiresTime     *time.Time `json:"expiresTime,omitempty"`
	ID              *string    `json:"id,omitempty"`
	LastUsedAt      *time.Time `json:"lastUsedAt,omitempty"`
	ScopedRoles     []string   `json:"scopedRoles,omitempty"`
	UpdatedAt       *time.Time `json:"updatedAt,omitempty"`
	UserID          *string    `json:"userId,omitempty"`
}

// sdkPersonalClientResponse is shared.PersonalClientServiceCreateResponse
// (and the get and update responses, which lack the secret).
type sdkPersonalClientResponse struct {
	PersonalClient *sdkPersonalClient `json:"client,omitempty"`
	ClientSecret   *string            `json:"clientSecret,omitempty"`
}

type sdkPersonalClientList struct {
	List          []sdkPersonalClient `json:"list,omitempty"`
	NextPageToken *string             `json:"nextPageToken,omitempty"`
}

func decodeSDK[T any](tb testing.TB, b []byte) T {
	tb.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatalf("the SDK's shape cannot decode %s: %v", b, err)
	}
	return v
}

func adminHeaders(tok string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + tok, "Content-Type": "application/json"}
}

// TestPersonalClientsOfficialShapes drives create, get, update, search,
// list and delete with the bodies the official SDK sends (its models'
// field names, expires as a protobuf Duration) and decodes every answer
// into the SDK's shapes.
func TestPersonalClientsOfficialShapes(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	pcs := apitype.PathPersonalClients

	st, b := e.do("POST", pcs, adminHeaders(e.admin), `{"displayName":"terraform","expires":"7776000s","allowSourceCidr":["127.0.0.1","10.1.2.0/24"],"scopedRoles":["admin"]}`)
	if st != http.StatusOK {
		t.Fatalf("create: %d %s", st, b)
	}
	created := decodeSDK[sdkPersonalClientResponse](t, b)
	pc := created.PersonalClient
	if pc == nil || pc.ID == nil || created.ClientSecret == nil || !strings.HasSuffix(*pc.ClientID, "/pcc") {
		t.Fatalf("create answered %s; want a client with a /pcc id and a secret", b)
	}
	if got, want := strings.Join(pc.AllowSourceCidr, ","), "127.0.0.1/32,10.1.2.0/24"; got != want {
		t.Errorf("allowSourceCidr = %s, want %s (canonical)", got, want)
	}
	if got, want := strings.Join(pc.ScopedRoles, ","), "admin"; got != want {
		t.Errorf("scopedRoles = %s, want %s", got, want)
	}
	if got, want := *pc.ExpiresTime, e.clock.Now().Add(7776000*time.Second); !got.Equal(want) {
		t.Errorf("expiresTime = %s, want %s", got, want)
	}
	id := *pc.ID

	// The secret exists in that one response only.
	st, b = e.do("GET", pcs+"/"+id, adminHeaders(e.admin), "")
	if st != http.StatusOK || strings.Contains(string(b), *created.ClientSecret) || strings.Contains(string(b), "clientSecret") {
		t.Fatalf("get: %d %s; want 200 without the secret", st, b)
	}
	if got := decodeSDK[sdkPersonalClientResponse](t, b).PersonalClient; got == nil || len(got.AllowSourceCidr) != 2 {
		t.Errorf("get answered %s; want the official fields", b)
	}

	// The client works from loopback (inside its networks).
	tok := e.token(*pc.ClientID, *created.ClientSecret)

	// Update with the SDK's {client, updateMask} and a string mask.
	st, b = e.do("POST", pcs+"/"+id, adminHeaders(tok), `{"client":{"displayName":"tf2","allowSourceCidr":["10.0.0.0/8"],"scopedRoles":[]},"updateMask":"displayName,allowSourceCidr"}`)
	if st != http.StatusOK {
		t.Fatalf("update: %d %s", st, b)
	}
	up := decodeSDK[sdkPersonalClientResponse](t, b).PersonalClient
	if *up.DisplayName != "tf2" || strings.Join(up.AllowSourceCidr, ",") != "10.0.0.0/8" || strings.Join(up.ScopedRoles, ",") != "admin" {
		t.Errorf("update answered %s; want displayName tf2, allowSourceCidr 10.0.0.0/8, scopedRoles kept (not in the mask)", b)
	}
	// Its own token now comes from outside its networks: refused at once.
	if st, b := e.do("GET", pcs, adminHeaders(tok), ""); st != http.StatusForbidden {
		t.Errorf("a call from outside allowSourceCidr: %d %s, want 403", st, b)
	}

	// Search and list answer the SDK's list shape.
	st, b = e.do("POST", apitype.PathSearchPersonalClients, adminHeaders(e.admin), `{"query":"TF2","pageSize":10}`)
	if st != http.StatusOK {
		t.Fatalf("search: %d %s", st, b)
	}
	if l := decodeSDK[sdkPersonalClientList](t, b); len(l.List) != 1 || *l.List[0].ID != id {
		t.Errorf("search answered %s; want the one client named tf2", b)
	}
	st, b = e.do("GET", pcs+"?page_size=1", adminHeaders(e.admin), "")
	if l := decodeSDK[sdkPersonalClientList](t, b); st != http.StatusOK || len(l.List) != 1 || l.NextPageToken == nil || *l.NextPageToken == "" {
		t.Errorf("list page 1: %d %s; want one client and a next page", st, b)
	}

	st, b = e.do("DELETE", pcs+"/"+id, adminHeaders(e.admin), "")
	if st != http.StatusOK {
		t.Fatalf("delete: %d %s", st, b)
	}
	st, b = e.do("GET", pcs+"/"+id, adminHeaders(e.admin), "")
	if got := decodeSDK[sdkPersonalClientResponse](t, b).PersonalClient; st != http.StatusOK || got.DeletedAt == nil {
		t.Errorf("get after delete: %d %s; want deletedAt set", st, b)
	}
}

// TestPersonalClientsRefuseWhatCannotBeHonoured: each bad input is a 400
// that says what to fix, and nothing is created or changed.
func TestPersonalClientsRefuseWhatCannotBeHonoured(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{MaxCredentialLifetime: 90 * 24 * time.Hour})
	pcs := apitype.PathPersonalClients
	count := func() int {
		_, b := e.do("GET", pcs, adminHeaders(e.admin), "")
		return len(decodeSDK[sdkPersonalClientList](t, b).List)
	}
	before := count()
	for _, tc := range []struct{ name, body, want string }{
		{"connector role", `{"scopedRoles":["connector"]}`, "scopedRoles"},
		{"unknown role", `{"scopedRoles":["c1.api.iam.v1.Role.ReadOnly"]}`, "system:viewer"},
		{"malformed network", `{"allowSourceCidr":["10.0.0.300/8"]}`, "allowSourceCidr"},
		{"host bits", `{"allowSourceCidr":["10.0.0.1/8"]}`, "10.0.0.0/8"},
		{"negative expires", `{"expires":"-5s"}`, "expires"},
		{"beyond the maximum lifetime", `{"expires":"8000000s"}`, "maximum"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, b := e.do("POST", pcs, adminHeaders(e.admin), tc.body)
			if st != http.StatusBadRequest || !strings.Contains(string(b), tc.want) {
				t.Errorf("got %d %s, want 400 mentioning %q", st, b, tc.want)
			}
		})
	}
	if got, want := count(), before; got != want {
		t.Errorf("%d clients after refused creates, want %d", got, want)
	}

	_, b := e.do("POST", pcs, adminHeaders(e.admin), `{"displayName":"keep"}`)
	id := *decodeSDK[sdkPersonalClientResponse](t, b).PersonalClient.ID
	for _, tc := range []struct{ name, body, want string }{
		{"unknown mask path", `{"client":{"displayName":"x"},"updateMask":"userId"}`, "updateMask"},
		{"clear expiry under a maximum", `{"client":{},"updateMask":"expiresTime"}`, "cannot be cleared"},
		{"connector role", `{"client":{"displayName":"x","scopedRoles":["connector"]},"updateMask":"displayName,scopedRoles"}`, "scopedRoles"},
		{"no client", `{"updateMask":"displayName"}`, "client is required"},
	} {
		t.Run("update "+tc.name, func(t *testing.T) {
			st, b := e.do("POST", pcs+"/"+id, adminHeaders(e.admin), tc.body)
			if st != http.StatusBadRequest || !strings.Contains(string(b), tc.want) {
				t.Errorf("got %d %s, want 400 mentioning %q", st, b, tc.want)
			}
		})
	}
	_, b = e.do("GET", pcs+"/"+id, adminHeaders(e.admin), "")
	if got := decodeSDK[sdkPersonalClientResponse](t, b).PersonalClient; *got.DisplayName != "keep" || len(got.ScopedRoles) != 0 {
		t.Errorf("after refused updates: %s; want it unchanged", b)
	}
}

// TestReadOnlyPersonalClient: a personal client scoped to system:viewer
// (ConductorOne's Read-Only Administrator) reads what an admin reads, and
// every documented operation that changes something answers 403 naming
// the role, whatever it is (x-conncred-roles says which operations it may
// call, and the test holds the server to it). Introspection reports the
// role and its permissions; an admin lifting the scope takes effect at
// once; a read-only caller cannot make a client wider than itself.
func TestReadOnlyPersonalClient(t *testing.T) {
	e := newBatonEnvWith(t, baton.Config{}, authority.Config{}).env // every wing, as serve wires them
	c := newChecker(t, e)
	appID, connID := e.setup()
	credID, _, _ := e.rotate(appID, connID)
	pcs := apitype.PathPersonalClients
	b := c.call("POST", pcs, adminHeaders(e.admin), `{"displayName":"auditor","scopedRoles":["System:Viewer"]}`, 200, true)
	created := decodeSDK[sdkPersonalClientResponse](t, b)
	if got := strings.Join(created.PersonalClient.ScopedRoles, ","); got != "system:viewer" {
		t.Fatalf("scopedRoles: got %q, want system:viewer", got)
	}
	viewerID := *created.PersonalClient.ID
	viewer := e.token(*created.PersonalClient.ClientID, *created.ClientSecret)

	// Reads.
	for _, path := range []string{"/api/v1/apps", "/api/v1/apps/" + appID + "/connectors", "/api/v1/apps/" + appID + "/connectors/" + connID + "/credentials",
		"/api/v1/apps/" + appID + "/connectors/" + connID + "/credentials/" + credID, apitype.PathAudit, pcs, "/api/v1/policy", apitype.PathWebhooks} {
		if st := c.send("GET", path, bearer(viewer), ""); st != 200 {
			t.Errorf("GET %s as a viewer: %d, want 200", path, st)
		}
	}
	st, m := e.api("GET", apitype.PathIntrospect, viewer, nil)
	if perms, _ := m["permissions"].([]any); st != 200 || fmt.Sprint(m["roles"]) != "[system:viewer]" || !slices.Contains(perms, any("audit:read")) || slices.Contains(perms, any("*")) {
		t.Errorf("introspect as a viewer: %d roles %v permissions %v; want system:viewer and read permissions only", st, m["roles"], m["permissions"])
	}

	// Every documented operation, with a body that passes decoding.
	bodies := map[string]string{
		"createApp": `{"displayName":"x"}`, "updateApp": `{"app":{}}`, "updateConnector": `{"connector":{}}`,
		"rotateCredential": `{"appId":"` + appID + `","connectorId":"` + connID + `"}`,
		"testSourceIP":     `{"allowCidr":["10.0.0.0/8"],"sourceIp":"10.1.2.3"}`,
	}
	checked := 0
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			roles, _ := op.Extensions["x-conncred-roles"].([]any)
			if !slices.Contains(roles, any("admin")) || method == http.MethodGet && !slices.Contains(roles, any("system:viewer")) {
				continue // not an admin's operation: the viewer is an admin of the read-only kind
			}
			url := strings.NewReplacer("{app_id}", appID, "{connector_id}", connID).Replace(path)
			if strings.Contains(path, "/credentials/{id}") {
				url = strings.Replace(url, "{id}", credID, 1)
			}
			url = strings.Replace(url, "{id}", viewerID, 1) // a live record for the personal client routes
			body := ""
			if method != http.MethodGet {
				body = cmp.Or(bodies[op.OperationID], "{}")
			}
			mayRead := slices.Contains(roles, any("system:viewer"))
			t.Run(op.OperationID, func(t *testing.T) {
				c := *c
				c.t = t
				st, got := c.exchange(method, url, jsonHeaders(viewer), body, false)
				switch {
				case mayRead && st == http.StatusForbidden:
					t.Errorf("%s %s as a viewer: 403 %s; x-conncred-roles %v lets it", method, path, got, roles)
				case !mayRead && (st != http.StatusForbidden || !strings.Contains(string(got), "system:viewer")):
					t.Errorf("%s %s as a viewer: %d %.300s; want 403 naming the role system:viewer", method, path, st, got)
				}
			})
			checked++
		}
	}
	if checked < 60 {
		t.Errorf("checked %d operations; the document has more admin ones than that", checked)
	}
	if st, m := e.api("GET", "/api/v1/apps/"+appID, e.admin, nil); st != 200 || str(m, "app", "deletedAt") != "" {
		t.Errorf("the app after the viewer's attempts: %d %v, want it untouched", st, m)
	}

	// A read-only caller cannot create a wider client (the transport
	// refuses any change first; the rule also holds in package personal).
	svc := personal.New(e.auth, e.store.(personal.Store), nil)
	asViewer := conncred.WithPrincipal(t.Context(), &conncred.Principal{Kind: conncred.KindAdmin, CredentialID: viewerID, ClientID: "auditor"})
	if _, _, err := svc.Create(asViewer, personal.CreateRequest{DisplayName: "wider"}); conncred.ErrorCode(err) != conncred.EPermissionDenied || !strings.Contains(conncred.ErrorMessage(err), "never exceed") {
		t.Errorf("a viewer creating an unscoped client: %v, want permission denied (never exceed its creator's)", err)
	}
	if _, err := svc.Update(asViewer, viewerID, personal.Update{ScopedRoles: []string{"admin"}, Mask: []string{"scopedRoles"}}); conncred.ErrorCode(err) != conncred.EPermissionDenied {
		t.Errorf("a viewer widening itself: %v, want permission denied", err)
	}

	// An admin lifts the scope: the next change by the client works at once.
	c.call("POST", pcs+"/"+viewerID, adminHeaders(e.admin), `{"client":{"scopedRoles":["admin"]},"updateMask":"scopedRoles"}`, 200, true)
	if st, m := e.api("POST", "/api/v1/apps", viewer, map[string]any{"displayName": "now allowed"}); st != 200 {
		t.Errorf("create an app after the scope was lifted: %d %v", st, m)
	}
}
