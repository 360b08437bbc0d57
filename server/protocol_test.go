package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/conncred/conncred/authority"
)

// TestHTTPStatusFor holds httpStatusFor to grpc-gateway's
// runtime.HTTPStatusFromCode for every code conncred may answer with.
func TestHTTPStatusFor(t *testing.T) {
	for rpc, want := range map[int]int{
		3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409,
		11: 400, 12: 501, 13: 500, 14: 503, 16: 401,
	} {
		if got := httpStatusFor(rpc); got != want {
			t.Errorf("httpStatusFor(%d): got %d, want %d", rpc, got, want)
		}
	}
}

// apiError is what an API error body decodes to; OAuth errors (the token
// and introspection endpoints) have no code.
type apiError struct {
	Code    *int   `json:"code"`
	Message string `json:"message"`
}

// checkAPIError fails when body is a google.rpc.Status whose code maps to
// another HTTP status than st. It reports whether body was one.
func checkAPIError(tb testing.TB, method, path string, st int, body []byte) bool {
	tb.Helper()
	var e apiError
	if st < 400 || json.Unmarshal(body, &e) != nil || e.Code == nil {
		return false
	}
	if want := httpStatusFor(*e.Code); st != want {
		tb.Errorf("%s %s: HTTP %d with google.rpc code %d, which maps to %d; body %.200s", method, path, st, *e.Code, want, body)
	}
	if e.Message == "" {
		tb.Errorf("%s %s: %d error with no message: %.200s", method, path, st, body)
	}
	return true
}

// TestAPIErrorStatusesAgreeWithTheirCodes walks the API's error paths,
// domain and transport, and checks each status is the one its google.rpc
// code maps to. (env.do checks the same of every error any server test
// provokes, so the REST and hostile tables are covered too.)
func TestAPIErrorStatusesAgreeWithTheirCodes(t *testing.T) {
	e := newEnv(t, Config{MaxBodyBytes: 1 << 10}, authority.Config{MaxActiveCredentials: 1})
	appID, connID := e.setup()
	_, clientID, sec := e.rotate(appID, connID)
	conn := e.token(clientID, sec)
	admin := map[string]string{"Authorization": "Bearer " + e.admin, "Content-Type": "application/json"}
	asConn := map[string]string{"Authorization": "Bearer " + conn}
	base := "/api/v1/apps/" + appID + "/connectors/" + connID + "/credentials"
	rotate := `{"appId":"` + appID + `","connectorId":"` + connID + `"}`
	const unknown = "2HErg7BRmNdHgX8sTCWVq4E1fyh"

	tests := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    string
		status  int
		code    int
		msgPart string // what the message must say, to tell the caller what to fix
	}{
		{"no bearer", "GET", "/api/v1/apps", nil, "", 401, 16, "Authorization: Bearer"},
		{"connector reads apps", "GET", "/api/v1/apps", asConn, "", 403, 7, ""},
		{"unknown app", "GET", "/api/v1/apps/" + unknown, admin, "", 404, 5, "not found"},
		{"unknown path", "GET", "/api/v2/nothing", admin, "", 404, 5, "no such endpoint"},
		{"malformed JSON", "POST", "/api/v1/apps", admin, `{"displayName":`, 400, 3, "not valid JSON"},
		{"rotate over the cap", "POST", "/api/v1/apps/connectors/credentials", admin, rotate, 400, 9, "revoke one"},
		{"rotate under an unknown app", "POST", "/api/v1/apps/connectors/credentials", admin, `{"appId":"` + unknown + `","connectorId":"` + connID + `"}`, 404, 5, `app "` + unknown + `" not found`},
		{"body over the limit", "POST", "/api/v1/apps", admin, `{"displayName":"` + strings.Repeat("a", 2<<10) + `"}`, 400, 3, "limit of 1024 bytes"},
		{"unsupported media type", "POST", "/api/v1/apps", map[string]string{"Authorization": "Bearer " + e.admin, "Content-Type": "text/plain"}, `{}`, 400, 3, "send application/json"},
		{"wrong method", "DELETE", base + "/x", admin, "", 501, 12, "allowed: GET, HEAD, POST"},
		{"wrong method, no authentication", "GET", "/auth/v1/token", nil, "", 501, 12, "allowed: POST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, body := e.do(tc.method, tc.path, tc.headers, tc.body)
			var got apiError
			if err := json.Unmarshal(body, &got); err != nil || got.Code == nil {
				t.Fatalf("%d %.200s: not a google.rpc.Status", st, body)
			}
			if st != tc.status || *got.Code != tc.code {
				t.Fatalf("got HTTP %d code %d, want HTTP %d code %d; body %.300s", st, *got.Code, tc.status, tc.code, body)
			}
			if !strings.Contains(got.Message, tc.msgPart) {
				t.Fatalf("message %q does not say %q", got.Message, tc.msgPart)
			}
		})
	}
}
