package server

import (
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/client"
	"github.com/conncred/conncred/clock"
	"github.com/conncred/conncred/dpop"
)

// TestDPoPGoClient: conncred's own client, asked for DPoP, gets bound
// tokens and calls the API with proofs, through the server's nonces.
func TestDPoPGoClient(t *testing.T) {
	for _, nonces := range []bool{false, true} {
		name := "no nonces"
		if nonces {
			name = "nonces"
		}
		t.Run(name, func(t *testing.T) {
			var cfg Config
			if nonces {
				cfg.DPoP = dpop.NewVerifier(dpop.Config{NonceKey: []byte("a test nonce key of 32 bytes....")}, &memReplay{}, clock.NewFake(t0))
			}
			e := newEnvWith(t, cfg, authority.Config{}, true)
			appID, connID := e.setup()
			_, clientID, sec := e.rotate(appID, connID)
			s := e.signer()
			// The client talks to the server's public URL, as a real client
			// does (here through a dialer that reaches the test listener,
			// like a port mapping): DPoP proofs name that URL.
			hc := e.srv.Client()
			tr := hc.Transport.(*http.Transport).Clone()
			addr := e.srv.Listener.Addr().String()
			tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}
			hc = &http.Client{Transport: tr}
			opts := []client.Option{client.WithServerURL(e.auth.Issuer()), client.WithHTTPClient(hc), client.WithClock(e.clock), client.WithDPoP(s)}
			ts, err := client.NewTokenSource(clientID, sec, opts...)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := ts.Token()
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if got, want := tok.TokenType, "DPoP"; got != want {
				t.Errorf("TokenType = %q, want %q", got, want)
			}
			if got, want := cnfJKT(t, tok.AccessToken), s.Thumbprint(); got != want {
				t.Errorf("cnf.jkt = %q, want %q", got, want)
			}
			c, err := client.New(clientID, sec, opts...)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				in, err := c.Introspect(t.Context())
				if err != nil {
					t.Fatalf("Introspect with DPoP: %v", err)
				}
				if in.ClientID != clientID {
					t.Errorf("introspect clientId = %q, want %q", in.ClientID, clientID)
				}
			}
		})
	}
}
