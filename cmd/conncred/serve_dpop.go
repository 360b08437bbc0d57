package main

import (
	"fmt"
	"os"
	"time"

	"github.com/conncred/conncred/authority"
	"github.com/conncred/conncred/dpop"
	"github.com/conncred/conncred/metrics"
	"github.com/spf13/pflag"
)

// dpopFlags are serve's settings for sender-constrained tokens (RFC 9449).
type dpopFlags struct {
	Enabled      bool
	Window       time.Duration
	NonceKeyFile string
}

func (d *dpopFlags) flags(fs *pflag.FlagSet) {
	fs.BoolVar(&d.Enabled, "dpop", true, "bind tokens to the key of a DPoP proof sent with the token request, and require a proof with every call made with such a token (RFC 9449); clients that send no proof get Bearer tokens as before")
	fs.DurationVar(&d.Window, "dpop-proof-window", time.Minute, "how old a DPoP proof's iat may be")
	fs.StringVar(&d.NonceKeyFile, "dpop-nonce-key-file", "", "require server-provided nonces in DPoP proofs, made with the key in this file (at least 32 bytes; give every node the same file); empty: no nonces")
}

// startDPoP makes the proof verifier and the per-credential policy, and
// installs the policy in the authority; nil, nil with --dpop=false.
func startDPoP(d dpopFlags, store any, auth *authority.Authority, met *metrics.Metrics) (*dpop.Verifier, *dpop.Policy, error) {
	if !d.Enabled {
		return nil, nil, nil
	}
	replay, ok := store.(dpop.ReplayStore)
	ds, ok2 := store.(dpop.Store)
	if !ok || !ok2 {
		return nil, nil, fmt.Errorf("the database %T does not keep DPoP records", store)
	}
	cfg := dpop.Config{Window: d.Window}
	if d.NonceKeyFile != "" {
		key, err := os.ReadFile(d.NonceKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("--dpop-nonce-key-file: %w", err)
		}
		if len(key) < 32 {
			return nil, nil, fmt.Errorf("--dpop-nonce-key-file %s holds %d bytes; it needs at least 32 random bytes (e.g. head -c 32 /dev/urandom > %s)", d.NonceKeyFile, len(key), d.NonceKeyFile)
		}
		cfg.NonceKey = key
	}
	if met != nil {
		cfg.Observer = met.DPoP()
	}
	p := dpop.NewPolicy(ds, auth, nil)
	auth.SetBindingPolicy(p)
	return dpop.NewVerifier(cfg, replay, nil), p, nil
}
