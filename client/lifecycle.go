package client

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/secret"
)

// This file holds the calls of the lifecycle wing: rotation with an
// overlap, self-rotation and self-revocation by a connector, keys brought
// by the caller, and the networks a credential may be used from.

// Rotated is the answer of a rotate: the new credential (never holding its
// secret), the secret on its own (HasSecret false when the caller brought
// the key), and the credentials the rotate gave an expiry.
type Rotated struct {
	Credential *ConnectorCredential
	Secret     secret.Secret
	HasSecret  bool
	Retired    []*ConnectorCredential
}

// Rotate adds a credential to a connector with the lifecycle options:
// an overlap in which the others retire, and a key brought by the caller.
func (c *Client) Rotate(ctx context.Context, appID, connectorID string, opt RotateOptions) (*Rotated, error) {
	req := apitype.RotateCredentialRequest{
		AppID: appID, ConnectorID: connectorID, DisplayName: opt.DisplayName, Expires: apitype.Duration(opt.Expires), ExpiresTime: opt.ExpiresTime,
		RetirePreviousAfter: apitype.Duration(opt.RetirePreviousAfter), RetireCredentialID: opt.RetireCredentialID, PublicKey: publicJWK(opt.PublicKey),
	}
	var out apitype.RotateCredentialResponse
	if err := c.do(ctx, http.MethodPost, "/api/v1/apps/connectors/credentials", nil, req, &out); err != nil {
		return nil, err
	}
	return rotated(out, opt.PublicKey != nil)
}

// SelfRotateOptions are the inputs of a self-rotation.
type SelfRotateOptions struct {
	DisplayName string
	Expires     time.Duration
	ExpiresTime *time.Time
	// Grace is how long the calling credential keeps working; 0: the
	// server's default (24h).
	Grace     time.Duration
	PublicKey ed25519.PublicKey
}

// SelfRotate gives the connector whose credential this client holds a new
// credential; the one this client authenticates with expires after the
// grace. Only a connector credential may; the client keeps using the old
// one, so make a new Client with the new secret.
func (c *Client) SelfRotate(ctx context.Context, opt SelfRotateOptions) (*Rotated, error) {
	req := apitype.SelfRotateRequest{DisplayName: opt.DisplayName, Expires: apitype.Duration(opt.Expires), ExpiresTime: opt.ExpiresTime,
		Grace: apitype.Duration(opt.Grace), PublicKey: publicJWK(opt.PublicKey)}
	var out apitype.RotateCredentialResponse
	if err := c.do(ctx, http.MethodPost, apitype.PathSelfRotate, nil, req, &out); err != nil {
		return nil, err
	}
	return rotated(out, opt.PublicKey != nil)
}

// SelfRevoke revokes the connector credential this client authenticates
// with; the client cannot authenticate again.
func (c *Client) SelfRevoke(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, apitype.PathSelfRevoke, nil, struct{}{}, nil)
}

func publicJWK(pub ed25519.PublicKey) *apitype.PublicJWK {
	if pub == nil {
		return nil
	}
	return &apitype.PublicJWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub)}
}

func rotated(out apitype.RotateCredentialResponse, brought bool) (*Rotated, error) {
	r := &Rotated{Credential: out.Credential, Retired: out.Retired}
	if brought {
		if out.ClientSecret != "" || (out.Credential != nil && out.Credential.ClientSecret != nil) {
			return nil, fmt.Errorf("the server answered a client secret for a key the caller brought; it is not conncred")
		}
		return r, nil
	}
	cred, sec, err := splitSecret(out.Credential, out.ClientSecret)
	if err != nil {
		return nil, err
	}
	r.Credential, r.Secret, r.HasSecret = cred, sec, true
	return r, nil
}

func sourceLimitPath(appID, connectorID, id string) string {
	return credentialsPath(appID, connectorID) + "/" + url.PathEscape(id) + "/source_limit"
}

// GetSourceLimit returns the networks a connector credential may be used
// from; empty: no limit of its own.
func (c *Client) GetSourceLimit(ctx context.Context, appID, connectorID, id string) ([]string, error) {
	var out apitype.SourceLimit
	err := c.do(ctx, http.MethodGet, sourceLimitPath(appID, connectorID, id), nil, nil, &out)
	return out.AllowSourceCidr, err
}

// SetSourceLimit replaces them (empty: no limit) and returns them as the
// server stores them.
func (c *Client) SetSourceLimit(ctx context.Context, appID, connectorID, id string, cidrs []string) ([]string, error) {
	if cidrs == nil {
		cidrs = []string{}
	}
	var out apitype.SourceLimit
	err := c.do(ctx, http.MethodPost, sourceLimitPath(appID, connectorID, id), nil, apitype.SourceLimit{AllowSourceCidr: cidrs}, &out)
	return out.AllowSourceCidr, err
}

// GetSessionSettings returns the server-wide source restrictions.
func (c *Client) GetSessionSettings(ctx context.Context) (apitype.SessionSettingsResponse, error) {
	var out apitype.SessionSettingsResponse
	err := c.do(ctx, http.MethodGet, apitype.PathSessionSettings, nil, nil, &out)
	return out, err
}

// UpdateSessionSettings changes the restrictions named in req.UpdateMask
// (every one given, when empty).
func (c *Client) UpdateSessionSettings(ctx context.Context, req apitype.UpdateSessionSettingsRequest) (apitype.SessionSettingsResponse, error) {
	var out apitype.SessionSettingsResponse
	err := c.do(ctx, http.MethodPost, apitype.PathSessionSettings, nil, req, &out)
	return out, err
}

// TestSourceIP asks whether ip (empty: this client's own address, as the
// server sees it) is inside cidrs.
func (c *Client) TestSourceIP(ctx context.Context, cidrs []string, ip string) (apitype.TestSourceIPResponse, error) {
	if cidrs == nil {
		cidrs = []string{}
	}
	var out apitype.TestSourceIPResponse
	err := c.do(ctx, http.MethodPost, apitype.PathTestSourceIP, nil, apitype.TestSourceIPRequest{AllowCidr: cidrs, SourceIP: ip}, &out)
	return out, err
}
