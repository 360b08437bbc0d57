package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/secret"
	"golang.org/x/oauth2"
)

// ConnectorCredential is the credential model, with pointer fields and
// nil-safe getters as in ConductorOne's SDK.
type ConnectorCredential = apitype.ConnectorCredential

// Client calls conncred's API with a client credential.
type Client struct {
	base   string
	hc     *http.Client
	tokens oauth2.TokenSource
	source *assertionSource
}

// New returns a client authenticated by the given credential.
func New(clientID, clientSecret string, opts ...Option) (*Client, error) {
	src, err := newAssertionSource(clientID, clientSecret, opts)
	if err != nil {
		return nil, err
	}
	o, _ := buildOptions(clientID, opts)
	return &Client{
		base:   o.serverURL,
		hc:     o.hc,
		tokens: oauth2.ReuseTokenSourceWithExpiry(nil, src, 10*time.Second),
		source: src,
	}, nil
}

// Token exchanges the credential for a fresh access token (not the cached
// one), as `conncred token` shows it.
func (c *Client) Token(ctx context.Context) (apitype.TokenResponse, error) {
	return c.source.exchange(ctx)
}

// APIError is a non-200 answer from the API.
type APIError struct {
	StatusCode int
	Code       int    // google.rpc code
	Message    string // the server's message
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("HTTP %d", e.StatusCode)
	}
	return fmt.Sprintf("%s (HTTP %d)", e.Message, e.StatusCode)
}

// do sends a request with the access token (as Bearer, or as DPoP with a
// fresh proof when the token is bound) and decodes a 200 JSON answer into
// out. A DPoP call refused for want of the server's nonce is sent once more
// with it.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	tok, err := c.tokens.Token()
	if err != nil {
		return err
	}
	var b []byte
	if in != nil {
		if b, err = json.Marshal(in); err != nil {
			return err
		}
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	status, body, retry, err := c.send(ctx, method, u, b, in != nil, tok)
	if retry {
		status, body, _, err = c.send(ctx, method, u, b, in != nil, tok)
	}
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		var e apitype.Error
		_ = json.Unmarshal(body, &e)
		return &APIError{StatusCode: status, Code: e.Code, Message: e.Message}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("decoding the response of %s %s: %w", method, path, err)
	}
	return nil
}

// send makes one attempt of do.
func (c *Client) send(ctx context.Context, method, u string, in []byte, hasBody bool, tok *oauth2.Token) (int, []byte, bool, error) {
	var body io.Reader
	if hasBody {
		body = bytes.NewReader(in)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, nil, false, err
	}
	if hasBody {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	bound := c.source.dpop != nil && tok.TokenType == "DPoP"
	if bound {
		req.Header.Set("Authorization", "DPoP "+tok.AccessToken)
		if err := setProof(req, c.source.dpop, c.source.nonces, tok.AccessToken); err != nil {
			return 0, nil, false, err
		}
	} else {
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return 0, nil, false, err
	}
	retry := bound && resp.StatusCode == http.StatusUnauthorized && c.source.nonces.update(resp)
	if bound && !retry {
		c.source.nonces.update(resp)
	}
	return resp.StatusCode, b, retry, nil
}

// Page selects a page of a list.
type Page struct {
	Size  int
	Token string
}

func (p Page) query() url.Values {
	q := url.Values{}
	if p.Size > 0 {
		q.Set("page_size", strconv.Itoa(p.Size))
	}
	if p.Token != "" {
		q.Set("page_token", p.Token)
	}
	return q
}

// CreateApp creates an app.
func (c *Client) CreateApp(ctx context.Context, req apitype.CreateAppRequest) (*apitype.App, error) {
	var out apitype.AppResponse
	err := c.do(ctx, http.MethodPost, "/api/v1/apps", nil, req, &out)
	return out.App, err
}

// GetApp returns an app.
func (c *Client) GetApp(ctx context.Context, id string) (*apitype.App, error) {
	var out apitype.AppResponse
	err := c.do(ctx, http.MethodGet, "/api/v1/apps/"+url.PathEscape(id), nil, nil, &out)
	return out.App, err
}

// ListApps returns a page of apps.
func (c *Client) ListApps(ctx context.Context, p Page) (apitype.ListAppsResponse, error) {
	var out apitype.ListAppsResponse
	err := c.do(ctx, http.MethodGet, "/api/v1/apps", p.query(), nil, &out)
	return out, err
}

// UpdateApp changes the fields of an app named by the mask.
func (c *Client) UpdateApp(ctx context.Context, id string, req apitype.UpdateAppRequest) (*apitype.App, error) {
	var out apitype.AppResponse
	err := c.do(ctx, http.MethodPost, "/api/v1/apps/"+url.PathEscape(id), nil, req, &out)
	return out.App, err
}

// DeleteApp deletes an app and revokes every credential below it.
func (c *Client) DeleteApp(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/apps/"+url.PathEscape(id), nil, nil, nil)
}

func connectorsPath(appID string) string {
	return "/api/v1/apps/" + url.PathEscape(appID) + "/connectors"
}

// CreateConnector creates a connector under an app.
func (c *Client) CreateConnector(ctx context.Context, appID string, req apitype.CreateConnectorRequest) (*apitype.Connector, error) {
	var out apitype.ConnectorResponse
	err := c.do(ctx, http.MethodPost, connectorsPath(appID), nil, req, &out)
	return connectorOf(out.ConnectorView), err
}

func connectorOf(v *apitype.ConnectorView) *apitype.Connector {
	if v == nil {
		return nil
	}
	return v.Connector
}

// GetConnector returns a connector.
func (c *Client) GetConnector(ctx context.Context, appID, id string) (*apitype.Connector, error) {
	var out apitype.ConnectorResponse
	err := c.do(ctx, http.MethodGet, connectorsPath(appID)+"/"+url.PathEscape(id), nil, nil, &out)
	return connectorOf(out.ConnectorView), err
}

// ListConnectors returns a page of an app's connectors.
func (c *Client) ListConnectors(ctx context.Context, appID string, p Page) (apitype.ListConnectorsResponse, error) {
	var out apitype.ListConnectorsResponse
	err := c.do(ctx, http.MethodGet, connectorsPath(appID), p.query(), nil, &out)
	return out, err
}

// UpdateConnector changes the fields of a connector named by the mask.
func (c *Client) UpdateConnector(ctx context.Context, appID, id string, req apitype.UpdateConnectorRequest) (*apitype.Connector, error) {
	var out apitype.ConnectorResponse
	err := c.do(ctx, http.MethodPost, connectorsPath(appID)+"/"+url.PathEscape(id), nil, req, &out)
	return connectorOf(out.ConnectorView), err
}

// DeleteConnector deletes a connector and revokes its credentials.
func (c *Client) DeleteConnector(ctx context.Context, appID, id string) error {
	return c.do(ctx, http.MethodDelete, connectorsPath(appID)+"/"+url.PathEscape(id), nil, nil, nil)
}

func credentialsPath(appID, connectorID string) string {
	return connectorsPath(appID) + "/" + url.PathEscape(connectorID) + "/credentials"
}

// RotateOptions are the optional inputs of a rotate. The last three are
// the lifecycle options of a connector credential (see Rotate); an admin
// create refuses them.
type RotateOptions struct {
	DisplayName string
	Expires     time.Duration
	ExpiresTime *time.Time
	// RetirePreviousAfter, when positive, gives the connector's other
	// usable credentials (or only RetireCredentialID) an expiry this long
	// from now, in the rotate's transaction.
	RetirePreviousAfter time.Duration
	RetireCredentialID  string
	// PublicKey is a key the caller brought: the server makes none, and
	// the answer carries no secret.
	PublicKey ed25519.PublicKey
}

// RotateCredential adds a credential to a connector. The secret comes back
// on its own, never inside the returned metadata, and cannot print itself.
// With opt.PublicKey set there is no secret (use Rotate to tell).
func (c *Client) RotateCredential(ctx context.Context, appID, connectorID string, opt RotateOptions) (*ConnectorCredential, secret.Secret, error) {
	r, err := c.Rotate(ctx, appID, connectorID, opt)
	if err != nil {
		return nil, secret.Secret{}, err
	}
	return r.Credential, r.Secret, nil
}

func splitSecret(cred *ConnectorCredential, top string) (*ConnectorCredential, secret.Secret, error) {
	text := top
	if cred != nil && cred.ClientSecret != nil {
		if text == "" {
			text = *cred.ClientSecret
		}
		cred.ClientSecret = nil
	}
	if text == "" {
		return nil, secret.Secret{}, fmt.Errorf("the server returned no client secret")
	}
	return cred, secret.FromText(text), nil
}

// GetCredential returns a credential (never its secret).
func (c *Client) GetCredential(ctx context.Context, appID, connectorID, id string) (*ConnectorCredential, error) {
	var out apitype.CredentialResponse
	err := c.do(ctx, http.MethodGet, credentialsPath(appID, connectorID)+"/"+url.PathEscape(id), nil, nil, &out)
	return out.Credential, err
}

// ListCredentials returns a page of a connector's credentials.
func (c *Client) ListCredentials(ctx context.Context, appID, connectorID string, p Page) (apitype.ListCredentialsResponse, error) {
	var out apitype.ListCredentialsResponse
	err := c.do(ctx, http.MethodGet, credentialsPath(appID, connectorID), p.query(), nil, &out)
	return out, err
}

// RevokeCredential revokes a credential; revoking twice is not an error.
func (c *Client) RevokeCredential(ctx context.Context, appID, connectorID, id string) error {
	return c.do(ctx, http.MethodPost, credentialsPath(appID, connectorID)+"/"+url.PathEscape(id), nil, struct{}{}, nil)
}

// CreateAdmin creates an admin (personal client) credential.
func (c *Client) CreateAdmin(ctx context.Context, opt RotateOptions) (*ConnectorCredential, secret.Secret, error) {
	if opt.RetirePreviousAfter != 0 || opt.RetireCredentialID != "" || opt.PublicKey != nil {
		return nil, secret.Secret{}, fmt.Errorf("an admin credential takes no retirePreviousAfter, retireCredentialId or publicKey")
	}
	var out apitype.PersonalClientResponse
	req := apitype.CreateAdminRequest{DisplayName: opt.DisplayName, Expires: apitype.Duration(opt.Expires), ExpiresTime: opt.ExpiresTime}
	if err := c.do(ctx, http.MethodPost, apitype.PathPersonalClients, nil, req, &out); err != nil {
		return nil, secret.Secret{}, err
	}
	return splitSecret(out.Client.Credential(), out.ClientSecret)
}

// GetAdmin returns an admin credential.
func (c *Client) GetAdmin(ctx context.Context, id string) (*ConnectorCredential, error) {
	var out apitype.PersonalClientResponse
	err := c.do(ctx, http.MethodGet, apitype.PathPersonalClients+"/"+url.PathEscape(id), nil, nil, &out)
	return out.Client.Credential(), err
}

// ListAdmins returns a page of admin credentials.
func (c *Client) ListAdmins(ctx context.Context, p Page) (apitype.ListPersonalClientsResponse, error) {
	var out apitype.ListPersonalClientsResponse
	err := c.do(ctx, http.MethodGet, apitype.PathPersonalClients, p.query(), nil, &out)
	return out, err
}

// RevokeAdmin revokes an admin credential.
func (c *Client) RevokeAdmin(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, apitype.PathPersonalClients+"/"+url.PathEscape(id), nil, nil, nil)
}

// ListSigningKeys lists the server's signing keys.
func (c *Client) ListSigningKeys(ctx context.Context) ([]apitype.SigningKey, error) {
	var out apitype.ListSigningKeysResponse
	err := c.do(ctx, http.MethodGet, apitype.PathSigningKeys, nil, nil, &out)
	return out.List, err
}

// RotateSigningKey adds a new signing key.
func (c *Client) RotateSigningKey(ctx context.Context) (apitype.SigningKey, error) {
	var out apitype.RotateSigningKeyResponse
	err := c.do(ctx, http.MethodPost, apitype.PathRotateKeys, nil, struct{}{}, &out)
	return out.Key, err
}

// AuditQuery filters the audit trail. Actor and Source match beginnings
// (a whole client id or address, or its start); Newest lists newest first.
type AuditQuery struct {
	Kind, ConnectorID, CredentialID string
	Actor, Outcome, Source          string
	Since, Until                    time.Time
	Newest                          bool
	Page                            Page
}

// ListAudit returns a page of audit events.
func (c *Client) ListAudit(ctx context.Context, q AuditQuery) (apitype.ListAuditResponse, error) {
	v := q.Page.query()
	for k, s := range map[string]string{"kind": q.Kind, "connector_id": q.ConnectorID, "credential_id": q.CredentialID,
		"actor": q.Actor, "outcome": q.Outcome, "source": q.Source} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339Nano))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format(time.RFC3339Nano))
	}
	if q.Newest {
		v.Set("order", "newest")
	}
	var out apitype.ListAuditResponse
	err := c.do(ctx, http.MethodGet, apitype.PathAudit, v, nil, &out)
	return out, err
}

// Introspect describes the caller.
func (c *Client) Introspect(ctx context.Context) (apitype.IntrospectResponse, error) {
	var out apitype.IntrospectResponse
	err := c.do(ctx, http.MethodGet, apitype.PathIntrospect, nil, nil, &out)
	return out, err
}
