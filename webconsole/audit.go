package webconsole

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/internal/hostport"
)

func (c *Console) auditRoutes() {
	c.handle("GET "+Prefix+"/audit", c.auditPage)
}

// auditKinds are offered as suggestions in the kind filter (any kind can
// be typed).
var auditKinds = []string{
	"app.created", "app.updated", "app.deleted", "connector.created", "connector.updated", "connector.deleted",
	"credential.created", "credential.revoked", "credential.retiring", "credential.expiring", "credential.expired",
	"credential.dormant", "credential.auto_revoked", "credential.self_rotated", "credential.source_limit_changed",
	"token.issued", "token.refused", "admin.created", "admin.revoked", "signing_key.rotated",
	"console.link_issued", "console.signed_in", "console.signed_out", "trust.created", "trust.updated", "trust.deleted",
	"policy.changed", "webhook.created", "webhook.deleted", "webhook.redelivered", "settings.session_changed",
}

// auditRanges are the time-range choices; "custom" reads since and until.
var auditRanges = []struct{ Value, Label string }{
	{"1h", "Last hour"}, {"24h", "Last 24 hours"}, {"7d", "Last 7 days"}, {"30d", "Last 30 days"}, {"all", "All time"}, {"custom", "Custom (since / until below)"},
}

var rangeDurations = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour}

// auditFilter is the filter form's values, as the page was asked for.
type auditFilter struct {
	Range, Since, Until, Actor, Kind, Connector, Credential, Outcome, Source string
}

// post reports whether the filter has fields the authority's AuditQuery
// does not filter by (actor, outcome, source): those are matched here.
func (f auditFilter) post() bool { return f.Actor != "" || f.Outcome != "" || f.Source != "" }

func (f auditFilter) match(e conncred.AuditEvent) bool {
	if f.Actor != "" && !strings.Contains(strings.ToLower(e.Actor), strings.ToLower(f.Actor)) {
		return false
	}
	if f.Outcome != "" && e.Outcome != f.Outcome {
		return false
	}
	if f.Source != "" && !strings.HasPrefix(e.Source, f.Source) && !strings.HasPrefix(hostport.Host(e.Source), f.Source) {
		return false
	}
	return true
}

type auditRow struct {
	Time                                   *timeView
	Kind, Actor, Outcome, Reason, Source   string
	AppID, ConnectorID, CredentialID       string
	AppPath, ConnectorPath, CredentialPath string
	Count                                  int
}

type auditView struct {
	Filter  auditFilter
	Ranges  []struct{ Value, Label string }
	Kinds   []string
	Events  []auditRow
	Next    string
	Scanned int  // events read to find these, when matched here
	Limited bool // the scan stopped at auditScanLimit
}

// auditPageSize is how many events a page shows; auditScanLimit how many
// a page reads at most when it matches actor, outcome or source itself.
const (
	auditPageSize  = 50
	auditScanLimit = 5000
)

// parseAuditTime reads an RFC 3339 time or "YYYY-MM-DD[ HH:MM]" in UTC.
func parseAuditTime(name, s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, conncred.Errorf(conncred.EInvalid, "%s %q is not a time; write it as 2026-11-28T17:00:00Z or 2026-11-28 17:00 (UTC)", name, truncate(s))
}

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := auditFilter{Range: q.Get("range"), Since: strings.TrimSpace(q.Get("since")), Until: strings.TrimSpace(q.Get("until")),
		Actor: strings.TrimSpace(q.Get("actor")), Kind: strings.TrimSpace(q.Get("kind")), Connector: strings.TrimSpace(q.Get("connector")),
		Credential: strings.TrimSpace(q.Get("credential")), Outcome: q.Get("outcome"), Source: strings.TrimSpace(q.Get("source"))}
	if f.Range == "" {
		f.Range = "24h"
	}
	v := auditView{Filter: f, Ranges: auditRanges, Kinds: auditKinds}
	show := func(status int, msg string) error {
		return c.render(w, r, status, "audit", page{Title: "Audit", Nav: "audit", Error: msg, Data: v})
	}
	aq := authority.AuditQuery{Kind: f.Kind, ConnectorID: f.Connector, CredentialID: f.Credential, Page: authority.PageRequest{Token: q.Get("page")}}
	now := c.cfg.Clock.Now()
	switch f.Range {
	case "all":
	case "custom":
		var err error
		if f.Since != "" {
			if aq.Since, err = parseAuditTime("since", f.Since); err != nil {
				return show(http.StatusBadRequest, formError("Fix the time range", err))
			}
		}
		if f.Until != "" {
			if aq.Until, err = parseAuditTime("until", f.Until); err != nil {
				return show(http.StatusBadRequest, formError("Fix the time range", err))
			}
		}
	default:
		d, ok := rangeDurations[f.Range]
		if !ok {
			return show(http.StatusBadRequest, "Choose a time range from the list.")
		}
		aq.Since = now.Add(-d).Truncate(time.Minute)
	}
	switch f.Outcome {
	case "", "success", "failure", authority.OutcomeUnchanged:
	default:
		return show(http.StatusBadRequest, "Choose an outcome from the list.")
	}
	// Events this node has buffered are written first, so an admin sees
	// what they just did (other nodes write theirs within a second).
	c.cfg.Auth.Flush(r.Context())
	var events []conncred.AuditEvent
	next := ""
	if !f.post() {
		aq.Page.Size = auditPageSize
		var err error
		if events, next, err = c.cfg.Auth.ListAudit(r.Context(), aq); err != nil {
			if conncred.ErrorCode(err) == conncred.EInvalid {
				return show(http.StatusBadRequest, formError("Fix the filter", err))
			}
			return err
		}
	} else {
		// Actor, outcome and source are not filters of the audit store:
		// read pages and keep the matches, within auditScanLimit.
		aq.Page.Size = 200
		for {
			page, n, err := c.cfg.Auth.ListAudit(r.Context(), aq)
			if err != nil {
				if conncred.ErrorCode(err) == conncred.EInvalid {
					return show(http.StatusBadRequest, formError("Fix the filter", err))
				}
				return err
			}
			v.Scanned += len(page)
			for _, e := range page {
				if f.match(e) {
					events = append(events, e)
				}
			}
			next = n
			if next == "" || len(events) >= auditPageSize {
				break
			}
			if v.Scanned >= auditScanLimit {
				v.Limited = true
				break
			}
			aq.Page.Token = next
		}
	}
	for _, e := range events {
		v.Events = append(v.Events, viewAudit(e))
	}
	if next != "" {
		nq := url.Values{}
		for k, vals := range q {
			if k != "page" {
				nq[k] = vals
			}
		}
		nq.Set("page", next)
		v.Next = Prefix + "/audit?" + nq.Encode()
	}
	return show(http.StatusOK, "")
}

func viewAudit(e conncred.AuditEvent) auditRow {
	row := auditRow{Time: tv(e.Time), Kind: e.Kind, Actor: e.Actor, Outcome: e.Outcome, Reason: e.Reason, Source: e.Source,
		AppID: e.AppID, ConnectorID: e.ConnectorID, CredentialID: e.CredentialID, Count: e.Count}
	if e.AppID != "" && !strings.HasSuffix(e.Kind, ".deleted") {
		row.AppPath = appPath(e.AppID)
	}
	if e.AppID != "" && e.ConnectorID != "" {
		row.ConnectorPath = connectorPath(e.AppID, e.ConnectorID)
		if e.CredentialID != "" {
			row.CredentialPath = credentialPath(e.AppID, e.ConnectorID, e.CredentialID)
		}
	}
	return row
}
