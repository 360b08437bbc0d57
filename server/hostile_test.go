package server

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/secret"
)

// TestHostileRequests sends requests an attacker or a broken client would,
// across the token endpoint and the API, and checks each gets exactly the
// expected status and error class, and that the server stays healthy.
func TestHostileRequests(t *testing.T) {
	e := newEnv(t, Config{FailedTokenLimit: -1}, authority.Config{})
	appID, connID := e.setup()
	credID, clientID, sec := e.rotate(appID, connID)
	priv, _ := secret.Parse(sec)
	_, otherPriv, _ := ed25519.GenerateKey(nil)
	now := e.clock.Now()
	b64 := base64.RawURLEncoding.EncodeToString
	signed := func(edit func(h, c map[string]any)) string { return assertion(t, clientID, sec, now, edit) }
	form := func(a string) string { return tokenForm(clientID, a).Encode() }
	formCT := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	admin := map[string]string{"Authorization": "Bearer " + e.admin, "Content-Type": "application/json"}
	base := "/api/v1/apps/" + appID + "/connectors/" + connID + "/credentials"
	deep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	sqlish := `x'; DROP TABLE credentials; --`

	tests := []struct {
		name    string
		method  string
		path    string
		headers map[string]string
		body    string
		status  int
		class   string // RFC 6749 error for the token endpoint, or the rpc code for the API
	}{
		// The token endpoint.
		{"alg none", "POST", "/auth/v1/token", formCT, form(b64([]byte(`{"alg":"none"}`)) + "." + b64([]byte(`{"iss":"`+clientID+`"}`)) + "."), 401, "invalid_client"},
		{"alg HS256 keyed with the public key", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) { h["alg"] = "HS256" })), 401, "invalid_client"},
		{"alg RS256", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) { h["alg"] = "RS256" })), 401, "invalid_client"},
		{"alg ES256", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) { h["alg"] = "ES256" })), 401, "invalid_client"},
		{"embedded jwk signed by another key", "POST", "/auth/v1/token", formCT, form(signWith(otherPriv, map[string]any{"alg": "EdDSA", "jwk": map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(otherPriv.Public().(ed25519.PublicKey))}}, map[string]any{"iss": clientID, "sub": clientID, "aud": "127.0.0.1", "exp": now.Add(time.Minute).Unix()})), 401, "invalid_client"},
		{"jku header", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) { h["jku"] = "https://evil.example/jwks" })), 401, "invalid_client"},
		{"x5u header", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) { h["x5u"] = "https://evil.example/cert" })), 401, "invalid_client"},
		{"crit header", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) { h["crit"] = []string{"exp"} })), 401, "invalid_client"},
		{"signed by another key", "POST", "/auth/v1/token", formCT, form(signWith(otherPriv, map[string]any{"alg": "EdDSA"}, map[string]any{"iss": clientID, "sub": clientID, "aud": "127.0.0.1", "exp": now.Add(time.Minute).Unix()})), 401, "invalid_client"},
		{"other audience", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) { c["aud"] = "c1.other.test" })), 401, "invalid_client"},
		{"expired", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() })), 401, "invalid_client"},
		{"not yet valid", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() })), 401, "invalid_client"},
		{"lives too long", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) { c["exp"] = now.Add(time.Hour).Unix() })), 401, "invalid_client"},
		{"exp a year ahead, iat just before it, nbf in the past", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) {
			exp := now.Add(365 * 24 * time.Hour)
			c["exp"], c["iat"], c["nbf"] = exp.Unix(), exp.Add(-time.Minute).Unix(), now.Add(-2*time.Minute).Unix()
		})), 401, "invalid_client"},
		{"exp a year ahead with nbf 0", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) {
			exp := now.Add(365 * 24 * time.Hour)
			c["exp"], c["iat"], c["nbf"] = exp.Unix(), exp.Add(-time.Minute).Unix(), 0
		})), 401, "invalid_client"},
		{"exp 99999999999", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) { c["exp"] = int64(99999999999); delete(c, "iat") })), 401, "invalid_client"},
		{"exp as a numeric string", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) { c["exp"] = fmt.Sprint(now.Add(time.Minute).Unix()) })), 401, "invalid_client"},
		{"iat as a bool", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) { c["iat"] = true })), 401, "invalid_client"},
		{"alg none beside ALG EdDSA", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) { h["alg"], h["ALG"] = "none", "EdDSA" })), 401, "invalid_client"},
		{"only ALG EdDSA", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) { delete(h, "alg"); h["ALG"] = "EdDSA" })), 401, "invalid_client"},
		{"aud elsewhere beside AUD here", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) { c["AUD"], c["aud"] = c["aud"], "evil.example" })), 401, "invalid_client"},
		{"only Aud", "POST", "/auth/v1/token", formCT, form(signed(func(h, c map[string]any) { c["Aud"] = c["aud"]; delete(c, "aud") })), 401, "invalid_client"},
		{"claims not JSON", "POST", "/auth/v1/token", formCT, form(func() string {
			in := b64([]byte(`{"alg":"EdDSA"}`)) + "." + b64([]byte("nope"))
			return in + "." + b64(ed25519.Sign(priv, []byte(in)))
		}()), 401, "invalid_client"},
		{"huge assertion", "POST", "/auth/v1/token", formCT, form(strings.Repeat("A", 20000)), 401, "invalid_client"},
		{"truncated assertion", "POST", "/auth/v1/token", formCT, form(signed(nil)[:100]), 401, "invalid_client"},
		{"unknown client", "POST", "/auth/v1/token", formCT, tokenForm("lost-lamb-10000@127.0.0.1:8443/ccc", signed(func(h, c map[string]any) {
			c["iss"], c["sub"] = "lost-lamb-10000@127.0.0.1:8443/ccc", "lost-lamb-10000@127.0.0.1:8443/ccc"
		})).Encode(), 401, "invalid_client"},
		{"wrong grant type", "POST", "/auth/v1/token", formCT, "grant_type=password&username=a&password=b", 400, "unsupported_grant_type"},
		{"missing assertion", "POST", "/auth/v1/token", formCT, "grant_type=client_credentials&client_id=" + url.QueryEscape(clientID), 400, "invalid_request"},
		{"repeated parameter", "POST", "/auth/v1/token", formCT, form(signed(nil)) + "&grant_type=client_credentials", 400, "invalid_request"},
		{"JSON instead of a form", "POST", "/auth/v1/token", map[string]string{"Content-Type": "application/json"}, `{"grant_type":"client_credentials"}`, 400, "invalid_request"},
		{"form over 64 KiB", "POST", "/auth/v1/token", formCT, form(signed(nil)) + "&pad=" + strings.Repeat("A", 70<<10), 400, "invalid_request"},
		{"GET on the token endpoint", "GET", "/auth/v1/token", nil, "", 501, "12"},

		// Authentication of the API.
		{"no bearer", "GET", "/api/v1/apps", nil, "", 401, "16"},
		{"basic auth", "GET", "/api/v1/apps", map[string]string{"Authorization": "Basic YTpi"}, "", 401, "16"},
		{"bearer is an assertion", "GET", "/api/v1/apps", map[string]string{"Authorization": "Bearer " + signed(nil)}, "", 401, "16"},
		{"bearer alg none", "GET", "/api/v1/apps", map[string]string{"Authorization": "Bearer " + b64([]byte(`{"alg":"none"}`)) + "." + b64([]byte(`{"cid":"`+credID+`"}`)) + "."}, "", 401, "16"},
		{"bearer of garbage", "GET", "/api/v1/apps", map[string]string{"Authorization": "Bearer ...%%%"}, "", 401, "16"},

		// Request bodies.
		{"malformed JSON", "POST", "/api/v1/apps", admin, `{"displayName":`, 400, "3"},
		{"JSON array", "POST", "/api/v1/apps", admin, `["displayName"]`, 400, "3"},
		{"trailing data", "POST", "/api/v1/apps", admin, `{"displayName":"a"} {"x":1}`, 400, "3"},
		{"deeply nested JSON", "POST", "/api/v1/apps", admin, deep, 400, "3"},
		{"duplicate keys", "POST", "/api/v1/apps", admin, `{"displayName":"a","displayName":"b"}`, 400, "3"},
		{"invalid UTF-8", "POST", "/api/v1/apps", admin, "{\"displayName\":\"\xff\xfe\"}", 400, "3"},
		{"wrong type", "POST", "/api/v1/apps", admin, `{"displayName":42}`, 400, "3"},
		{"control character in a name", "POST", "/api/v1/apps", admin, `{"displayName":"a\u0000b"}`, 400, "3"},
		{"name too long", "POST", "/api/v1/apps", admin, `{"displayName":"` + strings.Repeat("a", 300) + `"}`, 400, "3"},
		{"missing display name", "POST", "/api/v1/apps", admin, `{}`, 400, "3"},
		{"text/plain body", "POST", "/api/v1/apps", map[string]string{"Authorization": "Bearer " + e.admin, "Content-Type": "text/plain"}, `{"displayName":"a"}`, 400, "3"},
		{"multipart body", "POST", "/api/v1/apps", map[string]string{"Authorization": "Bearer " + e.admin, "Content-Type": "multipart/form-data; boundary=x"}, "--x--", 400, "3"},
		{"body over 1 MiB", "POST", "/api/v1/apps", admin, `{"displayName":"` + strings.Repeat("a", 1<<20) + `"}`, 400, "3"},
		{"rotate without appId", "POST", "/api/v1/apps/connectors/credentials", admin, `{"connectorId":"` + connID + `"}`, 400, "3"},
		{"rotate with a bad duration", "POST", "/api/v1/apps/connectors/credentials", admin, `{"appId":"` + appID + `","connectorId":"` + connID + `","expires":"forever"}`, 400, "3"},
		{"update mask of an unknown field", "POST", "/api/v1/apps/" + appID, admin, `{"app":{"displayName":"x"},"updateMask":"id"}`, 400, "3"},

		// SQL metacharacters everywhere a string goes: stored verbatim or
		// refused as unknown, never interpreted.
		{"SQL in a display name", "POST", "/api/v1/apps", admin, `{"displayName":"` + sqlish + `","description":"` + sqlish + `"}`, 200, ""},
		{"SQL in a connector", "POST", "/api/v1/apps/" + appID + "/connectors", admin, `{"displayName":"` + sqlish + `","catalogId":"x' OR '1'='1","userIds":["' OR 1=1 --"]}`, 200, ""},
		{"SQL in an app id", "GET", "/api/v1/apps/" + url.PathEscape(sqlish), admin, "", 404, "5"},
		{"SQL in a credential id", "GET", base + "/" + url.PathEscape("' OR '1'='1"), admin, "", 404, "5"},
		{"SQL in a client id", "POST", "/auth/v1/token", formCT, tokenForm(sqlish+"@127.0.0.1/ccc", signed(func(h, c map[string]any) { c["iss"], c["sub"] = sqlish+"@127.0.0.1/ccc", sqlish+"@127.0.0.1/ccc" })).Encode(), 401, "invalid_client"},
		{"SQL in an audit filter", "GET", "/api/v1/audit?kind=" + url.QueryEscape(sqlish), admin, "", 200, ""},

		// Ids and paths.
		{"path traversal in an app id", "GET", "/api/v1/apps/..%2F..%2Fetc%2Fpasswd", admin, "", 404, "5"},
		{"credential under another connector", "GET", "/api/v1/apps/" + appID + "/connectors/2HErg7BRmNdHgX8sTCWVq4E1fyh/credentials/" + credID, admin, "", 404, "5"},
		{"unknown path", "GET", "/api/v2/everything", admin, "", 404, "5"},
		{"DELETE on a credential", "DELETE", base + "/" + credID, admin, "", 501, "12"},

		// Paging.
		{"negative page size", "GET", "/api/v1/apps?page_size=-1", admin, "", 400, "3"},
		{"absurd page size is coerced", "GET", "/api/v1/apps?page_size=999999999", admin, "", 200, ""},
		{"page size overflowing int", "GET", "/api/v1/apps?page_size=99999999999999999999999", admin, "", 400, "3"},
		{"page size not a number", "GET", "/api/v1/apps?page_size=ten", admin, "", 400, "3"},
		{"forged page token", "GET", "/api/v1/apps?page_token=" + b64([]byte("v1.' OR 1=1 --")), admin, "", 400, "3"},
		{"page token of garbage", "GET", "/api/v1/apps?page_token=%00%01", admin, "", 400, "3"},
		{"audit since not a time", "GET", "/api/v1/audit?since=yesterday", admin, "", 400, "3"},
	}
	if len(tests) < 40 {
		t.Fatalf("only %d hostile requests", len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, body := e.do(tc.method, tc.path, tc.headers, tc.body)
			if st != tc.status {
				t.Fatalf("status %d, want %d; body %.300s", st, tc.status, body)
			}
			if tc.class == "" {
				return
			}
			var m map[string]any
			if err := json.Unmarshal(body, &m); err != nil {
				t.Fatalf("body is not JSON: %.200s", body)
			}
			got := ""
			if v, ok := m["error"].(string); ok {
				got = v
			} else if c, ok := m["code"].(float64); ok {
				got = strconv.Itoa(int(c))
			}
			if got != tc.class {
				t.Fatalf("error class %q, want %q; body %.300s", got, tc.class, body)
			}
			if msg, _ := m["message"].(string); tc.status < 500 && m["code"] != nil && msg == "" {
				t.Fatalf("no message saying what to fix: %s", body)
			}
		})
	}
	// A good request still works after all of that.
	if st, _ := e.api("GET", "/api/v1/apps", e.admin, nil); st != http.StatusOK {
		t.Fatalf("server unhealthy after the hostile requests: %d", st)
	}
	if strings.Contains(e.log.String(), "panic") {
		t.Fatalf("a request panicked:\n%s", e.log.String())
	}
}

// TestSlowClientsAreCutOff checks the timeouts the serve command sets: a
// client that sends its headers or body byte by byte is disconnected.
func TestSlowClientsAreCutOff(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	srv := &http.Server{Handler: e.srv.Config.Handler, ReadHeaderTimeout: 200 * time.Millisecond, ReadTimeout: 300 * time.Millisecond, MaxHeaderBytes: 64 << 10}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	t.Run("huge header", func(t *testing.T) {
		req, _ := http.NewRequest("GET", "http://"+ln.Addr().String()+"/healthz", nil)
		req.Header.Set("X-Pad", strings.Repeat("a", 200<<10))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return // refused outright is fine too
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Fatalf("a 200 KiB header got %d, want 431", resp.StatusCode)
		}
	})
	for name, send := range map[string]string{
		"partial headers": "POST /api/v1/apps HTTP/1.1\r\nHost: x\r\n",
		"partial body":    "POST /api/v1/apps HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"display",
	} {
		t.Run(name, func(t *testing.T) {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write([]byte(send)); err != nil {
				t.Fatal(err)
			}
			// The server must close the connection by itself; the deadline
			// here only keeps a broken server from hanging the test.
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			buf := make([]byte, 4096)
			for {
				if _, err := c.Read(buf); err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						t.Fatal("the server kept a slow client's connection open")
					}
					return
				}
			}
		})
	}
}
