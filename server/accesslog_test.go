package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/conncred/conncred/authority"
)

// accessRecords returns the access-log records in the env's JSON log.
func accessRecords(t testing.TB, e *env) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(e.log.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %q", err, line)
		}
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

// TestAccessLog: each request gets a JSON record with its route pattern,
// status, size, duration, client id, remote address and request id; no
// record carries a bearer token or an assertion; token successes are logged
// once a minute with a count, token failures always.
func TestAccessLog(t *testing.T) {
	e := newEnv(t, Config{AccessLog: true}, authority.Config{})
	appID, connID := e.setup()
	credID, clientID, sec := e.rotate(appID, connID)
	connToken := e.token(clientID, sec) // same minute as the bootstrap exchange: not logged
	path := "/api/v1/apps/" + appID + "/connectors/" + connID + "/credentials/" + credID
	if st, _ := e.api("GET", path, connToken, nil); st != http.StatusOK {
		t.Fatalf("get own credential: %d", st)
	}
	badAssertion := assertion(t, clientID, sec, e.clock.Now(), func(h, c map[string]any) { c["aud"] = "elsewhere.example" })
	if st, _ := e.do("POST", "/auth/v1/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, tokenForm(clientID, badAssertion).Encode()); st != http.StatusBadRequest && st != http.StatusUnauthorized {
		t.Fatalf("bad assertion: status %d, want 400 or 401", st)
	}
	e.do("GET", "/no/such/path", nil, "")
	e.clock.Advance(time.Minute)
	e.token(clientID, sec)

	records := accessRecords(t, e)
	byRoute := map[string][]map[string]any{}
	for _, r := range records {
		route, _ := r["route"].(string)
		byRoute[route] = append(byRoute[route], r)
		for _, k := range []string{"method", "status", "duration_ms", "bytes", "remote", "request_id"} {
			if _, ok := r[k]; !ok {
				t.Errorf("record without %s: %v", k, r)
			}
		}
	}
	get := byRoute["GET /api/v1/apps/{app_id}/connectors/{connector_id}/credentials/{id}"]
	if len(get) != 1 {
		t.Fatalf("got %d records for the credential GET, want 1 under its route pattern; routes: %v", len(get), keys(byRoute))
	}
	if got, want := get[0]["client_id"], clientID; got != want {
		t.Errorf("client_id: got %v, want %v", got, want)
	}
	if got := get[0]["status"]; got != float64(200) {
		t.Errorf("status: got %v, want 200", got)
	}
	if got := get[0]["bytes"].(float64); got <= 0 {
		t.Errorf("bytes: got %v, want the body's size", got)
	}
	if got := get[0]["remote"].(string); !strings.HasPrefix(got, "127.0.0.1:") {
		t.Errorf("remote: got %q, want 127.0.0.1:port", got)
	}
	if got := byRoute["(no route)"]; len(got) != 1 || got[0]["status"] != float64(404) {
		t.Errorf("unrouted request: got %v, want one 404 record", got)
	}
	if strings.Contains(e.log.String(), "/no/such/path") {
		t.Errorf("the access log carries a raw path")
	}

	var successes, failures []map[string]any
	for _, r := range byRoute["POST /auth/v1/token"] {
		if r["status"] == float64(200) {
			successes = append(successes, r)
		} else {
			failures = append(failures, r)
		}
	}
	if len(failures) != 1 {
		t.Errorf("token failures: got %d records, want 1 (every failure is logged)", len(failures))
	}
	// Bootstrap, rotate-test and post-minute exchanges: the first and the
	// one a minute later are logged; the later one counts the one between.
	if len(successes) != 2 {
		t.Fatalf("token successes: got %d records, want 2 (one a minute): %v", len(successes), successes)
	}
	if got, want := successes[1]["token_successes"], float64(2); got != want {
		t.Errorf("token_successes on the second line: got %v, want %v", got, want)
	}
	if got := successes[1]["client_id"]; got != clientID {
		t.Errorf("token success client_id: got %v, want %v", got, clientID)
	}

	logText := e.log.String()
	for name, s := range map[string]string{"admin token": e.admin, "connector token": connToken, "assertion": badAssertion, "secret": sec} {
		if strings.Contains(logText, s) {
			t.Errorf("the log contains the %s", name)
		}
	}
}

// TestAccessLogOff: without Config.AccessLog no request is logged.
func TestAccessLogOff(t *testing.T) {
	e := newEnv(t, Config{}, authority.Config{})
	e.setup()
	if got := accessRecords(t, e); len(got) != 0 {
		t.Errorf("access log off: got %d records, want 0", len(got))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
