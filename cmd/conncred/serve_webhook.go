package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync/atomic"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/webhook"
	"github.com/spf13/pflag"
)

// webhookFlags configures the webhooks wing.
type webhookFlags struct {
	KeyFile           string
	AllowLoopbackHTTP bool
	AllowPrivate      bool
}

func (w *webhookFlags) flags(fs *pflag.FlagSet) {
	fs.StringVar(&w.KeyFile, "webhook-key-file", "", "32-byte key that seals webhook signing secrets and derives the Ed25519 key of v1a signatures (created if missing; give every node the same file); default <data-dir>/webhook.key")
	fs.BoolVar(&w.AllowLoopbackHTTP, "webhook-allow-loopback-http", false, "accept plain http webhook URLs to loopback (local receivers and tests)")
	fs.BoolVar(&w.AllowPrivate, "webhook-allow-private", false, "let webhooks be delivered to private, loopback and link-local addresses (receivers inside your network)")
}

// lateAuditor forwards to the authority once it exists: the webhook
// service's audit sink must be in the authority's config before the
// authority is made.
type lateAuditor struct {
	a atomic.Pointer[authority.Authority]
}

func (l *lateAuditor) Record(ctx context.Context, e conncred.AuditEvent) {
	if a := l.a.Load(); a != nil {
		a.Record(ctx, e)
	}
}

// startWebhooks makes the webhook service over store, or nil when the
// store does not implement the wing.
func startWebhooks(f webhookFlags, dataDir string, store conncred.Store, log *slog.Logger, met webhook.Observer) (*webhook.Service, *lateAuditor, error) {
	ws, err := webhook.AsStore(store)
	if err != nil {
		return nil, nil, err
	}
	path := f.KeyFile
	if path == "" {
		path = filepath.Join(dataDir, "webhook.key")
	}
	keys, err := webhook.LoadOrCreateKeyring(path)
	if err != nil {
		return nil, nil, err
	}
	late := &lateAuditor{}
	svc := webhook.New(webhook.Config{
		Targets:  webhook.TargetPolicy{AllowLoopbackHTTP: f.AllowLoopbackHTTP, AllowPrivate: f.AllowPrivate},
		Log:      log,
		Observer: met,
	}, ws, keys, late, nil)
	return svc, late, nil
}

// chainSinks calls every non-nil sink.
func chainSinks(sinks ...func(conncred.AuditEvent)) func(conncred.AuditEvent) {
	return func(e conncred.AuditEvent) {
		for _, s := range sinks {
			if s != nil {
				s(e)
			}
		}
	}
}
