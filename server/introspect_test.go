package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/conncred/conncred/authority"
)

// TestTokenIntrospectionEndpoint checks RFC 7662 request errors and who may
// learn what.
func TestTokenIntrospectionEndpoint(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	appID, connID := e.setup()
	_, clientA, secA := e.rotate(appID, connID)
	_, clientB, secB := e.rotate(appID, connID)
	tokA, tokB := e.token(clientA, secA), e.token(clientB, secB)
	form := func(bearer string) map[string]string {
		return map[string]string{"Authorization": "Bearer " + bearer, "Content-Type": "application/x-www-form-urlencoded"}
	}
	introspect := func(t *testing.T, headers map[string]string, body string) (int, map[string]any) {
		t.Helper()
		st, b := e.do("POST", "/auth/v1/introspect", headers, body)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%d %q: not a JSON object", st, b)
		}
		return st, m
	}

	t.Run("missing token is invalid_request", func(t *testing.T) {
		st, m := introspect(t, form(e.admin), "")
		if st != http.StatusBadRequest || m["error"] != "invalid_request" || !strings.Contains(m["error_description"].(string), "token=") {
			t.Fatalf("got %d %v, want 400 invalid_request naming token=", st, m)
		}
	})
	t.Run("empty token is invalid_request", func(t *testing.T) {
		st, m := introspect(t, form(e.admin), "token=")
		if st != http.StatusBadRequest || m["error"] != "invalid_request" {
			t.Fatalf("got %d %v, want 400 invalid_request", st, m)
		}
	})
	t.Run("a JSON body is told the introspection format", func(t *testing.T) {
		st, m := introspect(t, map[string]string{"Authorization": "Bearer " + e.admin, "Content-Type": "application/json"}, `{"token":"`+tokA+`"}`)
		desc, _ := m["error_description"].(string)
		if st != http.StatusBadRequest || m["error"] != "invalid_request" {
			t.Fatalf("got %d %v, want 400 invalid_request", st, m)
		}
		for _, want := range []string{"introspection", "/auth/v1/introspect", "application/x-www-form-urlencoded", "token="} {
			if !strings.Contains(desc, want) {
				t.Errorf("description %q does not say %q", desc, want)
			}
		}
		if strings.Contains(desc, "token request") {
			t.Errorf("description %q speaks of the token request", desc)
		}
	})
	t.Run("the token endpoint's message is unchanged", func(t *testing.T) {
		st, b := e.do("POST", "/auth/v1/token", map[string]string{"Content-Type": "application/json"}, `{}`)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		if want := "the token request must be application/x-www-form-urlencoded"; st != 400 || m["error_description"] != want {
			t.Fatalf("got %d %v, want 400 %q", st, m, want)
		}
	})

	tests := []struct {
		name       string
		caller     string
		token      string
		wantClient string // "" for inactive
	}{
		{"connector, its own token", tokA, tokA, clientA},
		{"connector, a sibling credential's token", tokA, tokB, ""},
		{"connector, the admin's token", tokA, e.admin, ""},
		{"admin, a connector's token", e.admin, tokB, clientB},
		{"admin, garbage", e.admin, "x.y.z", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, m := introspect(t, form(tc.caller), url.Values{"token": {tc.token}}.Encode())
			if st != http.StatusOK {
				t.Fatalf("got %d %v", st, m)
			}
			if tc.wantClient == "" {
				if len(m) != 1 || m["active"] != false {
					t.Fatalf("got %v, want exactly {\"active\":false}", m)
				}
				return
			}
			if m["active"] != true || m["client_id"] != tc.wantClient || m["token_type"] != "Bearer" {
				t.Fatalf("got %v, want active for %s", m, tc.wantClient)
			}
		})
	}
}

// TestMetadataListsOnlyWhatIsImplemented checks the RFC 8414 document.
func TestMetadataListsOnlyWhatIsImplemented(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	st, b := e.do("GET", "/.well-known/oauth-authorization-server", nil, "")
	if st != http.StatusOK {
		t.Fatalf("metadata: %d %s", st, b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	// RFC 8414 requires the member; there is no authorization endpoint, so
	// it names no response type.
	if v, ok := m["response_types_supported"].([]any); !ok || len(v) != 0 {
		t.Errorf("response_types_supported = %v, want [] (present, as RFC 8414 requires, and empty: there is no authorization endpoint)", m["response_types_supported"])
	}
	// "Bearer" is the IANA OAuth Access Token Types entry, which RFC 8414
	// §2 allows here; the endpoint takes no client assertion.
	got, _ := json.Marshal(m["introspection_endpoint_auth_methods_supported"])
	if want := `["Bearer"]`; string(got) != want {
		t.Errorf("introspection_endpoint_auth_methods_supported: got %s, want %s", got, want)
	}
	for _, k := range []string{"issuer", "token_endpoint", "jwks_uri", "introspection_endpoint", "grant_types_supported", "token_endpoint_auth_methods_supported"} {
		if _, ok := m[k]; !ok {
			t.Errorf("metadata lacks %s", k)
		}
	}
}
