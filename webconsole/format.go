package webconsole

import (
	"fmt"
	"time"

	"github.com/conncred/conncred"
)

// timeView is a time as the templates show it: <time datetime=ISO
// title=UTC>Text</time>. console.js rewrites an absolute Text into the
// viewer's time zone; the title keeps the exact UTC time on hover.
type timeView struct {
	ISO  string
	UTC  string
	Text string
	// Rel marks a relative Text ("3 h ago"), which console.js leaves as
	// it is.
	Rel bool
}

func tv(t time.Time) *timeView {
	u := t.UTC()
	return &timeView{ISO: u.Format(time.RFC3339), UTC: u.Format("2006-01-02 15:04:05 UTC"), Text: u.Format("2006-01-02 15:04 UTC")}
}

func tvp(t *time.Time) *timeView {
	if t == nil || t.IsZero() {
		return nil
	}
	return tv(*t)
}

// relTime is t shown relative to now ("3 h ago", "in 2 d").
func relTime(now time.Time, t *time.Time) *timeView {
	if t == nil || t.IsZero() {
		return nil
	}
	v := tv(*t)
	v.Text, v.Rel = relative(now, *t), true
	return v
}

// relative says how far t is from now in the largest unit that fits.
func relative(now, t time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		s = fmt.Sprintf("%d h", int(d/time.Hour))
	default:
		s = fmt.Sprintf("%d d", int(d/(24*time.Hour)))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// expiryWarning is how near an expiry is shown as a warning.
const expiryWarning = 7 * 24 * time.Hour

// expiryView is a credential's expiry with its warning state: "" (far or
// none), "soon" (within expiryWarning) or "expired". The state is also
// spelled in Label, so it does not rest on colour alone.
type expiryView struct {
	Time  *timeView
	State string
	Label string
}

func expiry(now time.Time, t *time.Time) expiryView {
	if t == nil {
		return expiryView{Label: "never"}
	}
	v := expiryView{Time: tv(*t)}
	switch left := t.Sub(now); {
	case left <= 0:
		v.State, v.Label = "expired", "expired "+relative(now, *t)
	case left <= expiryWarning:
		v.State, v.Label = "soon", "expires "+relative(now, *t)
	default:
		v.Label = relative(now, *t)
	}
	return v
}

// credentialState is "revoked", "expired" or "active".
func credentialState(now time.Time, c conncred.Credential) string {
	switch {
	case c.DeletedAt != nil:
		return "revoked"
	case c.ExpiresAt != nil && !now.Before(*c.ExpiresAt):
		return "expired"
	}
	return "active"
}

// credentialView is one row of a credentials table.
type credentialView struct {
	ID, ClientID, Name string
	Created            *timeView
	Expires            expiryView
	LastUsed           *timeView // relative
	Revoked            *timeView
	State              string
	Path               string // the credential's page in the console
}

func viewCredential(now time.Time, c conncred.Credential) credentialView {
	return credentialView{
		ID: c.ID, ClientID: c.ClientID, Name: c.DisplayName,
		Created: tv(c.CreatedAt), Expires: expiry(now, c.ExpiresAt), LastUsed: relTime(now, c.LastUsedAt),
		Revoked: tvp(c.DeletedAt), State: credentialState(now, c),
		Path: credentialPath(c.AppID, c.ConnectorID, c.ID),
	}
}

// Paths of the console's pages, in one place so templates and redirects
// agree. Ids are base62, so they need no escaping in a path.
func appPath(appID string) string { return Prefix + "/apps/" + appID }

func connectorPath(appID, connectorID string) string {
	return appPath(appID) + "/connectors/" + connectorID
}

func credentialPath(appID, connectorID, id string) string {
	return connectorPath(appID, connectorID) + "/credentials/" + id
}
