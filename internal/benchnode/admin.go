package benchnode

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// TokenPath is the token endpoint; IntrospectPath the authenticated API
// call that api mode drives.
const (
	TokenPath      = "/auth/v1/token"
	IntrospectPath = "/api/v1/auth/introspect"
)

// Exchange posts a fresh assertion of s to base's token endpoint and returns
// the access token.
func Exchange(ctx context.Context, hc *http.Client, base string, s *Signer) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+TokenPath, strings.NewReader(s.TokenForm(time.Now())))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := do(hc, req, &out); err != nil {
		return "", fmt.Errorf("token for %s: %w", s.ClientID(), err)
	}
	if out.AccessToken == "" {
		return "", fmt.Errorf("token for %s: empty access_token", s.ClientID())
	}
	return out.AccessToken, nil
}

// Admin makes the API calls that set a benchmark up, as an admin.
type Admin struct {
	base  string
	hc    *http.Client
	token string
}

// NewAdmin exchanges the admin credential for a token at base.
func NewAdmin(ctx context.Context, hc *http.Client, base string, admin Credential) (*Admin, error) {
	s, err := NewSigner(admin)
	if err != nil {
		return nil, fmt.Errorf("admin credential: %w", err)
	}
	tok, err := Exchange(ctx, hc, base, s)
	if err != nil {
		return nil, err
	}
	return &Admin{base: base, hc: hc, token: tok}, nil
}

// Get sends an API GET as the admin and decodes the JSON answer into out,
// if out is not nil.
func (a *Admin) Get(ctx context.Context, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if out == nil {
		out = &json.RawMessage{}
	}
	if err := do(a.hc, req, out); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// Post sends a JSON API POST as the admin and decodes the JSON answer into
// out, if out is not nil.
func (a *Admin) Post(ctx context.Context, path string, body, out any) error {
	if out == nil {
		out = &json.RawMessage{}
	}
	return a.post(ctx, path, body, out)
}

// post sends a JSON API request and decodes the JSON answer into out.
func (a *Admin) post(ctx context.Context, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.token)
	if err := do(a.hc, req, out); err != nil {
		return fmt.Errorf("POST %s: %w", path, err)
	}
	return nil
}

// do sends req and decodes a 200 JSON answer into out; any other status is
// an error quoting the start of the body.
func do(hc *http.Client, req *http.Request, out any) error {
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		if len(b) > 300 {
			b = b[:300]
		}
		return fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, out)
}

// CreateCredentials makes n connector credentials under one new app, perConnector
// to a connector (servers cap a connector's active credentials, 10 by
// default), with parallel requests in flight. progress, if not nil, hears
// how many are done now and then.
func (a *Admin) CreateCredentials(ctx context.Context, n, perConnector, parallel int, progress func(done int)) ([]Credential, error) {
	if perConnector < 1 {
		perConnector = 1
	}
	if parallel < 1 {
		parallel = 1
	}
	var app struct {
		App struct {
			ID string `json:"id"`
		} `json:"app"`
	}
	name := fmt.Sprintf("conncred-bench %s", time.Now().UTC().Format(time.RFC3339))
	if err := a.post(ctx, "/api/v1/apps", map[string]string{"displayName": name}, &app); err != nil {
		return nil, err
	}
	connectors := make([]string, (n+perConnector-1)/perConnector)
	for i := range connectors {
		var c struct {
			ConnectorView struct {
				Connector struct {
					ID string `json:"id"`
				} `json:"connector"`
			} `json:"connectorView"`
		}
		if err := a.post(ctx, "/api/v1/apps/"+app.App.ID+"/connectors", map[string]string{}, &c); err != nil {
			return nil, err
		}
		connectors[i] = c.ConnectorView.Connector.ID
	}

	creds := make([]Credential, n)
	jobs := make(chan int)
	errs := make(chan error, parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				var r struct {
					Credential struct {
						ClientID     string `json:"clientId"`
						ClientSecret string `json:"clientSecret"`
					} `json:"credential"`
					ClientSecret string `json:"clientSecret"`
				}
				body := map[string]string{"appId": app.App.ID, "connectorId": connectors[i/perConnector]}
				if err := a.post(ctx, "/api/v1/apps/connectors/credentials", body, &r); err != nil {
					errs <- err
					return
				}
				// Newer servers put the secret in the credential too; the
				// top-level one is what every server sends.
				sec := cmp.Or(r.ClientSecret, r.Credential.ClientSecret)
				creds[i] = Credential{ClientID: r.Credential.ClientID, ClientSecret: sec}
				mu.Lock()
				done++
				if progress != nil && (done%500 == 0 || done == n) {
					progress(done)
				}
				mu.Unlock()
			}
		}()
	}
	var err error
feed:
	for i := range n {
		select {
		case jobs <- i:
		case err = <-errs:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	if err != nil {
		return nil, err
	}
	return creds, nil
}
