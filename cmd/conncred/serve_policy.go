package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/lifecycle"
	"github.com/conncred/conncred/metrics"
	"github.com/conncred/conncred/policy"
	"github.com/spf13/pflag"
)

// policyFlags are the server default policy (below every stored policy)
// and the policy scheduler's interval. The default maximum lifetime is
// --max-credential-lifetime.
type policyFlags struct {
	ExpiryWarnings    durationList
	DormancyThreshold dayDuration
	AutoRevokeAfter   dayDuration
	RequireDPoP       bool
	OfflineAfter      dayDuration
	Interval          time.Duration
}

func (p *policyFlags) flags(fs *pflag.FlagSet) {
	fs.Var(&p.ExpiryWarnings, "policy-expiry-warnings", "server default: lead times before a credential's expiry at which a credential.expiring event is recorded, e.g. 14d,1d (empty: none)")
	fs.Var(&p.DormancyThreshold, "policy-dormancy-threshold", "server default: a credential with no token exchange for this long gets a credential.dormant event, e.g. 30d (0: none)")
	fs.Var(&p.AutoRevokeAfter, "policy-auto-revoke-after", "server default: a credential with no token exchange for this long is revoked (reason dormant); longer than the dormancy threshold, e.g. 90d (0: never)")
	fs.BoolVar(&p.RequireDPoP, "policy-require-dpop", false, "server default: every connector credential's token requests must carry a DPoP proof (RFC 9449), unless a policy below sets requireDpop false")
	p.OfflineAfter = dayDuration(15 * time.Minute)
	fs.Var(&p.OfflineAfter, "policy-offline-after", "server default: a connector with a baton host not heard (no call with its credentials) for this long gets a connector.offline event, and connector.online when heard again; at least 5m; raised to three --policy-interval if less (0: not watched)")
	fs.DurationVar(&p.Interval, "policy-interval", time.Minute, "how often the policy scheduler looks for credentials crossing a threshold (at least 1s)")
}

// defaults is the server default policy these flags and maxLifetime make.
func (p *policyFlags) defaults(maxLifetime time.Duration) policy.Policy {
	d := policy.Policy{MaxLifetime: &maxLifetime}
	ws := []time.Duration(p.ExpiryWarnings)
	d.ExpiryWarnings = &ws
	dormant, revoke := time.Duration(p.DormancyThreshold), time.Duration(p.AutoRevokeAfter)
	d.DormancyThreshold, d.AutoRevokeAfter = &dormant, &revoke
	d.RequireDPoP = &p.RequireDPoP
	offline := time.Duration(p.OfflineAfter)
	d.OfflineAfter = &offline
	return d
}

// startPolicy makes the policy rules over store, makes every rotate ask
// them for the connector's maximum lifetime (the new credential's, and the
// grace of the one it retires), makes the authority's source checks (the
// lifecycle wing's) also tell them which connectors are heard, and starts
// the scheduler. The returned function stops it.
func startPolicy(ctx context.Context, p policyFlags, maxLifetime time.Duration, store conncred.Store, auth *authority.Authority, life *lifecycle.Service, met *metrics.Metrics, log *slog.Logger) (*policy.Service, func(), error) {
	ps, err := policy.AsStore(store)
	if err != nil {
		return nil, nil, err
	}
	cfg := policy.Config{Defaults: p.defaults(maxLifetime), Interval: p.Interval}
	if met != nil {
		cfg.Observer = met.Policy()
	}
	svc, err := policy.New(cfg, auth, ps, nil)
	if err != nil {
		return nil, nil, usageError{err: fmt.Errorf("--policy-*: %w", err)}
	}
	auth.SetLifetimeLimiter(svc)
	auth.SetScopeBindingPolicy(svc)
	life.SetLifetimeLimiter(svc)
	auth.SetSourceGuard(svc.WatchUse(life))
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc.Run(ctx, log)
	}()
	return svc, func() { cancel(); <-done }, nil
}

// dayDuration is a duration flag that also reads whole days ("30d").
type dayDuration time.Duration

func (d *dayDuration) String() string { return policy.FormatDuration(time.Duration(*d)) }
func (d *dayDuration) Type() string   { return "duration" }
func (d *dayDuration) Set(s string) error {
	v, err := policy.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = dayDuration(v)
	return nil
}

// durationList is a comma-separated list of such durations.
type durationList []time.Duration

func (l *durationList) String() string {
	s := make([]string, len(*l))
	for i, d := range *l {
		s[i] = policy.FormatDuration(d)
	}
	return strings.Join(s, ",")
}
func (l *durationList) Type() string { return "durations" }
func (l *durationList) Set(s string) error {
	*l = nil
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		v, err := policy.ParseDuration(part)
		if err != nil {
			return err
		}
		*l = append(*l, v)
	}
	return nil
}
