package client

import (
	"context"
	"net/http"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/secret"
)

// CreateConsoleLoginLink asks for a one-time web console login link that
// signs its holder in as this client's admin credential. The link's URL
// carries its token, so it comes back on its own, as a value that cannot
// print itself; the metadata beside it is not secret.
func (c *Client) CreateConsoleLoginLink(ctx context.Context) (apitype.ConsoleLoginLink, secret.Secret, error) {
	var out apitype.ConsoleLoginLinkResponse
	if err := c.do(ctx, http.MethodPost, apitype.PathConsoleLoginLinks, nil, apitype.Empty{}, &out); err != nil {
		return apitype.ConsoleLoginLink{}, secret.Secret{}, err
	}
	return out.ConsoleLoginLink, secret.FromText(out.URL), nil
}
