// Package policy holds the rules of expiry and dormancy policies: how long a
// connector credential may live, when its owners are warned before it
// expires, when an unused credential counts as dormant and when a dormant
// one is revoked. A policy is set server-wide, per app and per connector;
// for each field separately the nearest one that sets it wins (connector,
// then app, then the server's stored default, then the serve flags).
//
// It is a wing beside package authority: the authority asks it for a
// connector's maximum lifetime on every rotate (authority.LifetimeLimiter),
// and its Scheduler, on the injected clock, finds credentials crossing the
// thresholds and records each event once, across restarts and nodes, as an
// audit event. It knows nothing of HTTP or SQL.
package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/conncred/conncred"
)

// Policy is what one scope sets. A nil field (or nil ExpiryWarnings) is
// not set here and comes from a farther scope; a zero duration is set to
// "none" (no maximum, no dormancy events, no auto-revoke), and an empty
// non-nil ExpiryWarnings sets "no warnings".
type Policy struct {
	// MaxLifetime caps a new credential's lifetime (and is its lifetime
	// when the rotate asks for none).
	MaxLifetime *time.Duration
	// ExpiryWarnings are lead times before expiry at which a
	// credential.expiring event is recorded, e.g. 14 days and 1 day.
	ExpiryWarnings *[]time.Duration
	// DormancyThreshold: a credential with no token exchange (or, never
	// used, no creation) for this long gets a credential.dormant event.
	DormancyThreshold *time.Duration
	// AutoRevokeAfter: a credential unused for this long (longer than
	// the dormancy threshold) is revoked with reason "dormant".
	AutoRevokeAfter *time.Duration
	// RequireDPoP: the token requests of the credentials below must carry
	// a DPoP proof (RFC 9449), as if each had its own flag set (package
	// dpop). A credential's own flag can add the requirement, never lift
	// one a policy sets.
	RequireDPoP *bool
	// OfflineAfter: a connector whose hosts have made no call (Hello,
	// GetTask, heartbeat, token exchange: any use of its credentials) for
	// this long gets a connector.offline event, and connector.online when
	// it is heard again. 0: not watched.
	OfflineAfter *time.Duration
	UpdatedAt    time.Time
}

// Empty reports whether p sets nothing.
func (p Policy) Empty() bool {
	return p.MaxLifetime == nil && p.ExpiryWarnings == nil && p.DormancyThreshold == nil && p.AutoRevokeAfter == nil && p.RequireDPoP == nil && p.OfflineAfter == nil
}

// Scope kinds.
const (
	ScopeServer    = "server"
	ScopeApp       = "app"
	ScopeConnector = "connector"
)

// Scope names where a policy is set: the server (ID ""), an app or a
// connector (ID its id). AppID, given with a connector, must be the
// connector's app (the API's path names both); stores ignore it.
type Scope struct {
	Kind  string
	ID    string
	AppID string
}

// key is s as stores keep it.
func (s Scope) key() Scope { return Scope{Kind: s.Kind, ID: s.ID} }

func (s Scope) String() string {
	if s.Kind == ScopeServer {
		return "the server default"
	}
	return s.Kind + " " + s.ID
}

// Field names, as on the wire and in an update mask.
const (
	FieldMaxLifetime       = "maxLifetime"
	FieldExpiryWarnings    = "expiryWarnings"
	FieldDormancyThreshold = "dormancyThreshold"
	FieldAutoRevokeAfter   = "autoRevokeAfter"
	FieldRequireDPoP       = "requireDpop"
	FieldOfflineAfter      = "offlineAfter"
)

// Fields are the policy's fields in their documented order.
var Fields = []string{FieldMaxLifetime, FieldExpiryWarnings, FieldDormancyThreshold, FieldAutoRevokeAfter, FieldRequireDPoP, FieldOfflineAfter}

// Bounds of the values a policy accepts. Past them a value is a mistake
// (a unit typed wrong, a sign lost), refused with a message that says the
// range.
const (
	minLifetime = time.Hour
	minWarning  = time.Minute
	minDormancy = time.Hour
	// minOffline leaves room for the write-behind of last-seen times
	// (flushed once per scheduler interval on every node) and for a
	// connector's own retries after a network blip.
	minOffline  = 5 * time.Minute
	maxDuration = 10 * 366 * 24 * time.Hour // ten years
	maxWarnings = 8
	dayDuration = 24 * time.Hour
)

// Effective is a resolved policy: every field's value and the scope it
// came from.
type Effective struct {
	MaxLifetime       time.Duration
	ExpiryWarnings    []time.Duration // longest first
	DormancyThreshold time.Duration
	AutoRevokeAfter   time.Duration
	RequireDPoP       bool
	OfflineAfter      time.Duration
	// From names, per field, the scope that set it ("" when no scope did
	// and the server's flags gave the value).
	From map[string]Scope
}

// resolve merges chain, nearest first, over base (the serve flags).
func resolve(base Policy, chain ...scoped) Effective {
	e := Effective{From: map[string]Scope{}}
	pick := func(field string, get func(Policy) bool) {
		for _, c := range chain {
			if get(c.p) {
				e.From[field] = c.scope
				return
			}
		}
		get(base)
	}
	pick(FieldMaxLifetime, func(p Policy) bool {
		if p.MaxLifetime == nil {
			return false
		}
		e.MaxLifetime = *p.MaxLifetime
		return true
	})
	pick(FieldExpiryWarnings, func(p Policy) bool {
		if p.ExpiryWarnings == nil {
			return false
		}
		e.ExpiryWarnings = sortedLeads(*p.ExpiryWarnings)
		return true
	})
	pick(FieldDormancyThreshold, func(p Policy) bool {
		if p.DormancyThreshold == nil {
			return false
		}
		e.DormancyThreshold = *p.DormancyThreshold
		return true
	})
	pick(FieldAutoRevokeAfter, func(p Policy) bool {
		if p.AutoRevokeAfter == nil {
			return false
		}
		e.AutoRevokeAfter = *p.AutoRevokeAfter
		return true
	})
	pick(FieldRequireDPoP, func(p Policy) bool {
		if p.RequireDPoP == nil {
			return false
		}
		e.RequireDPoP = *p.RequireDPoP
		return true
	})
	pick(FieldOfflineAfter, func(p Policy) bool {
		if p.OfflineAfter == nil {
			return false
		}
		e.OfflineAfter = *p.OfflineAfter
		return true
	})
	return e
}

type scoped struct {
	scope Scope
	p     Policy
}

// sortedLeads returns a copy, longest lead first, without duplicates.
func sortedLeads(in []time.Duration) []time.Duration {
	out := slices.Clone(in)
	slices.Sort(out)
	out = slices.Compact(out)
	slices.Reverse(out)
	return out
}

// Validate reports the first value of p that is out of range, as an
// EInvalid error that names the field and the range.
func (p Policy) Validate() error {
	if err := checkDuration(FieldMaxLifetime, p.MaxLifetime, minLifetime); err != nil {
		return err
	}
	if err := checkDuration(FieldDormancyThreshold, p.DormancyThreshold, minDormancy); err != nil {
		return err
	}
	if err := checkDuration(FieldAutoRevokeAfter, p.AutoRevokeAfter, minDormancy); err != nil {
		return err
	}
	if err := checkDuration(FieldOfflineAfter, p.OfflineAfter, minOffline); err != nil {
		return err
	}
	if p.ExpiryWarnings != nil {
		ws := *p.ExpiryWarnings
		if len(ws) > maxWarnings {
			return conncred.Errorf(conncred.EInvalid, "%s has %d lead times; at most %d are allowed", FieldExpiryWarnings, len(ws), maxWarnings)
		}
		for i, w := range ws {
			if err := checkDuration(fmt.Sprintf("%s[%d]", FieldExpiryWarnings, i), &w, minWarning); err != nil {
				return err
			}
			if w == 0 {
				return conncred.Errorf(conncred.EInvalid, "%s[%d] is 0; a lead time must be positive (send [] for no warnings)", FieldExpiryWarnings, i)
			}
		}
	}
	return nil
}

func checkDuration(field string, d *time.Duration, min time.Duration) error {
	switch {
	case d == nil:
		return nil
	case *d < 0:
		return conncred.Errorf(conncred.EInvalid, "%s must not be negative (got %s); use 0 for none, or leave it unset to inherit", field, *d)
	case *d != 0 && *d < min:
		return conncred.Errorf(conncred.EInvalid, "%s of %s is too short; use at least %s, or 0 for none", field, *d, FormatDuration(min))
	case *d > maxDuration:
		return conncred.Errorf(conncred.EInvalid, "%s of %s is longer than ten years (%s); use a shorter duration, or 0 for none", field, FormatDuration(*d), FormatDuration(maxDuration))
	}
	return nil
}

// checkEffective refuses a combination that cannot work, on the policy as
// it would resolve for some credential.
func checkEffective(e Effective) error {
	if e.AutoRevokeAfter > 0 && e.DormancyThreshold > 0 && e.AutoRevokeAfter <= e.DormancyThreshold {
		return conncred.Errorf(conncred.EInvalid, "%s (%s) must be longer than %s (%s), so that a dormant credential is reported before it is revoked",
			FieldAutoRevokeAfter, FormatDuration(e.AutoRevokeAfter), FieldDormancyThreshold, FormatDuration(e.DormancyThreshold))
	}
	return nil
}

// FormatDuration writes d in days when it is whole days ("14d"), else as
// Go does ("36h0m0s").
func FormatDuration(d time.Duration) string {
	if d != 0 && d%dayDuration == 0 {
		return fmt.Sprintf("%dd", d/dayDuration)
	}
	return d.String()
}

// ParseDuration reads a Go duration ("36h", "90m") or whole days ("14d").
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int64
		if _, err := fmt.Sscanf(n, "%d", &days); err != nil || fmt.Sprint(days) != n {
			return 0, fmt.Errorf("%q is not a duration; use e.g. \"14d\", \"36h\" or \"90m\"", s)
		}
		if days < -100000 || days > 100000 {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		return time.Duration(days) * dayDuration, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("\"" + s + "\" is not a duration; use e.g. \"14d\", \"36h\" or \"90m\"")
	}
	return d, nil
}
