package server

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/conncred/conncred/authority"
)

// BenchmarkTokenEndpoint is the whole token exchange through the HTTP
// layer, HTTP/2 over TLS as clients use it, with a fresh assertion signed
// per request as a client would (that signature is in the figure).
func BenchmarkTokenEndpoint(b *testing.B) {
	e := newEnvWith(b, Config{FailedTokenLimit: -1}, authority.Config{}, true)
	appID, connID := e.setup()
	_, clientID, sec := e.rotate(appID, connID)
	hc := e.srv.Client()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := tokenForm(clientID, assertion(b, clientID, sec, e.clock.Now(), nil)).Encode()
			resp, err := hc.Post(e.srv.URL+"/auth/v1/token", "application/x-www-form-urlencoded", strings.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
