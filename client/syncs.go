package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"

	"github.com/conncred/conncred/apitype"
)

func connectorPath(appID, connectorID string) string {
	return connectorsPath(appID) + "/" + url.PathEscape(connectorID)
}

func syncPath(appID, connectorID, syncID string) string {
	return connectorPath(appID, connectorID) + "/syncs/" + url.PathEscape(syncID)
}

// SyncStatus returns a connector's sync status, schedule and pause state.
func (c *Client) SyncStatus(ctx context.Context, appID, connectorID string) (apitype.SyncStatusResponse, error) {
	var out apitype.SyncStatusResponse
	err := c.do(ctx, http.MethodGet, connectorPath(appID, connectorID)+"/sync_status", nil, nil, &out)
	return out, err
}

// ForceSync starts a sync of the connector now (the official
// ConnectorService.ForceSync); the answer names the new sync in SyncID.
func (c *Client) ForceSync(ctx context.Context, appID, connectorID string) (apitype.SyncStatusResponse, error) {
	return c.control(ctx, appID, connectorID, "force_sync", apitype.Empty{})
}

// PauseSync stops new syncs of the connector; a running one finishes.
func (c *Client) PauseSync(ctx context.Context, appID, connectorID string) (apitype.SyncStatusResponse, error) {
	return c.control(ctx, appID, connectorID, "pause", apitype.Empty{})
}

// ResumeSync undoes PauseSync.
func (c *Client) ResumeSync(ctx context.Context, appID, connectorID string) (apitype.SyncStatusResponse, error) {
	return c.control(ctx, appID, connectorID, "resume", apitype.Empty{})
}

// SetSchedule sets the connector's cron schedule, read in the IANA time
// zone tz ("" is UTC); an empty spec removes it. The body is the official
// UpdateConnectorScheduleRequest.
func (c *Client) SetSchedule(ctx context.Context, appID, connectorID, spec, tz string) (apitype.SyncStatusResponse, error) {
	return c.control(ctx, appID, connectorID, "schedule", apitype.SetScheduleRequest{Cron: &apitype.ScheduleCron{CronSpec: spec, Timezone: tz}})
}

func (c *Client) control(ctx context.Context, appID, connectorID, verb string, in any) (apitype.SyncStatusResponse, error) {
	var out apitype.SyncStatusResponse
	err := c.do(ctx, http.MethodPost, connectorPath(appID, connectorID)+"/"+verb, nil, in, &out)
	return out, err
}

// ListSyncs returns a page of the connector's syncs, newest first.
func (c *Client) ListSyncs(ctx context.Context, appID, connectorID string, p Page) (apitype.ListSyncsResponse, error) {
	var out apitype.ListSyncsResponse
	err := c.do(ctx, http.MethodGet, connectorPath(appID, connectorID)+"/syncs", p.query(), nil, &out)
	return out, err
}

// GetSync returns one sync, with its artifact's size and SHA-256 once
// uploaded.
func (c *Client) GetSync(ctx context.Context, appID, connectorID, syncID string) (*apitype.SyncView, error) {
	var out apitype.SyncResponse
	err := c.do(ctx, http.MethodGet, syncPath(appID, connectorID, syncID), nil, nil, &out)
	return out.Sync, err
}

// SyncDownloadURL returns a short-lived URL that downloads the sync's
// artifact without a token (the official GetConnectorSyncDownloadURL).
func (c *Client) SyncDownloadURL(ctx context.Context, appID, connectorID, syncID string) (apitype.DownloadURLResponse, error) {
	var out apitype.DownloadURLResponse
	err := c.do(ctx, http.MethodGet, syncPath(appID, connectorID, syncID)+"/download_url", nil, nil, &out)
	return out, err
}

// Download is an artifact being downloaded. Close it when done.
type Download struct {
	Body io.ReadCloser
	// Size is the artifact's length in bytes (-1 if the server did not say).
	Size int64
}

// OpenSync starts the download of a sync's artifact (.c1z). The caller
// streams Body and checks its SHA-256 against GetSync's ArtifactHash. A
// DPoP-bound token is sent with a proof, as do sends it, and a refusal
// for want of the server's nonce is retried once with it.
func (c *Client) OpenSync(ctx context.Context, appID, connectorID, syncID string) (*Download, error) {
	tok, err := c.tokens.Token()
	if err != nil {
		return nil, err
	}
	u := c.base + syncPath(appID, connectorID, syncID) + "/download"
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		bound := c.source.dpop != nil && tok.TokenType == "DPoP"
		if bound {
			req.Header.Set("Authorization", "DPoP "+tok.AccessToken)
			if err := setProof(req, c.source.dpop, c.source.nonces, tok.AccessToken); err != nil {
				return nil, err
			}
		} else {
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusOK {
			if bound {
				c.source.nonces.update(resp)
			}
			return &Download{Body: resp.Body, Size: resp.ContentLength}, nil
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		retry := bound && attempt == 0 && resp.StatusCode == http.StatusUnauthorized && c.source.nonces.update(resp)
		if retry {
			continue
		}
		var e apitype.Error
		_ = json.Unmarshal(b, &e)
		return nil, &APIError{StatusCode: resp.StatusCode, Code: e.Code, Message: e.Message}
	}
}
