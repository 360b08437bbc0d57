package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// HydraTokenPath is the token endpoint of Ory Hydra (and of its OAuth2
// library's other users).
const HydraTokenPath = "/oauth2/token"

// HydraClients registers n OAuth2 clients through the admin API of an Ory
// Hydra v2 at adminURL (POST /admin/clients), each allowed the
// client_credentials grant and authenticated by private_key_jwt with its
// own fresh ES256 key, and returns their signers, whose assertions are
// addressed to tokenURL (Hydra wants aud to name its token endpoint). This
// is Hydra's counterpart of creating conncred credentials: the same load
// then drives either server.
func HydraClients(ctx context.Context, hc *http.Client, adminURL, tokenURL string, n int) ([]*JWTSigner, error) {
	adminURL = strings.TrimRight(adminURL, "/")
	out := make([]*JWTSigner, 0, n)
	stamp := time.Now().UTC().Format(time.RFC3339)
	for i := range n {
		// The key comes first and the client id from Hydra, so the signer
		// is made twice: once for its key, once with the id.
		key, err := GenerateES256Signer("pending", tokenURL)
		if err != nil {
			return nil, err
		}
		body, _ := json.Marshal(map[string]any{
			"client_name":                     fmt.Sprintf("conncred-bench %s #%d", stamp, i+1),
			"grant_types":                     []string{"client_credentials"},
			"response_types":                  []string{"token"},
			"token_endpoint_auth_method":      "private_key_jwt",
			"token_endpoint_auth_signing_alg": "ES256",
			"jwks":                            map[string]any{"keys": []any{key.PublicJWK()}},
		})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, adminURL+"/admin/clients", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		id, err := createdClientID(hc, req)
		if err != nil {
			return nil, fmt.Errorf("registering an OAuth2 client at %s: %w", adminURL, err)
		}
		s, err := NewES256Signer(id, tokenURL, key.kid, key.priv)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// createdClientID sends a client registration and returns the new
// client's id from a 201 (or 200) answer.
func createdClientID(hc *http.Client, req *http.Request) (string, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		if len(b) > 300 {
			b = b[:300]
		}
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	var c struct {
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return "", err
	}
	if c.ClientID == "" {
		return "", fmt.Errorf("status %d without a client_id", resp.StatusCode)
	}
	return c.ClientID, nil
}
