package server

import (
	"testing"

	"github.com/conncred/conncred/authority"
)

// TestSourceLimitBehindProxy pins what README says of --trust-proxy-headers:
// the address checked is the first X-Forwarded-For entry, and one that is
// not an address is refused for a limited credential (fail closed).
func TestSourceLimitBehindProxy(t *testing.T) {
	e := newEnv(t, Config{TrustProxyHeaders: true}, authority.Config{})
	appID, connID := e.setup()
	id, cid, sec := e.rotate(appID, connID)
	tok := e.token(cid, sec)
	if st, m := e.api("POST", credPath(appID, connID, id)+"/source_limit", e.admin, map[string]any{"allowSourceCidr": []string{"10.0.0.0/8"}}); st != 200 {
		t.Fatalf("set source limit: %d %v", st, m)
	}
	for _, tc := range []struct {
		xff  string
		want int
	}{
		{"10.1.2.3", 200},
		{"10.1.2.3, 192.0.2.9", 200},
		{"192.0.2.9, 10.1.2.3", 403}, // only the first entry counts
		{"", 403},                    // the connection's own address, 127.0.0.1
		{"not-an-address", 403},
	} {
		t.Run(tc.xff, func(t *testing.T) {
			h := map[string]string{"Authorization": "Bearer " + tok}
			if tc.xff != "" {
				h["X-Forwarded-For"] = tc.xff
			}
			if st, body := e.do("GET", "/api/v1/auth/introspect", h, ""); st != tc.want {
				t.Errorf("X-Forwarded-For %q: got %d, want %d (%s)", tc.xff, st, tc.want, body)
			}
		})
	}
}
