package apitype

import "time"

// PathConsoleLoginLinks is a conncred extension: POST makes a one-time
// login link for the web console, acting as the caller's admin credential.
const PathConsoleLoginLinks = "/api/v1/console/login-links"

// ConsoleLoginLink describes a login link without its secret URL.
type ConsoleLoginLink struct {
	ID        string    `json:"id"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// ConsoleLoginLinkResponse is the answer of POST PathConsoleLoginLinks,
// the only one that carries the link's URL (and so its token).
type ConsoleLoginLinkResponse struct {
	ConsoleLoginLink
	// URL is https://<public host>/console/login?token=<token>.
	URL string `json:"url"`
}
