package loadgen

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/internal/ksuid"
	"github.com/conncred/conncred/secret"
)

// Filled names some of what Prefill wrote, for requests that address it.
type Filled struct {
	AppID string
	// Sample is every step-th credential Prefill made, spread over all its
	// connectors.
	Sample []FilledCredential
}

// FilledCredential is one credential made by Prefill.
type FilledCredential struct {
	ConnectorID, ID string
}

// OpenStore opens the store Prefill fills. The caller chooses the store
// (cmd/conncred-bench opens SQLite), so that the generator depends on the
// conncred.Store interface and not on a store's package.
type OpenStore func(context.Context) (conncred.Store, error)

// Prefill writes n connector credentials, perConnector to a connector under
// one app, into the store that open opens, before a server opens it, and
// closes it: a million through the API would take hours of rotations,
// through the store they take as long as its commits. The credentials are
// real rows (key, thumbprint, client id) whose private keys are thrown
// away: they fill the tables and indexes, they are never used.
func Prefill(ctx context.Context, open OpenStore, n, perConnector int, progress func(done int)) (f Filled, err error) {
	st, err := open(ctx)
	if err != nil {
		return Filled{}, err
	}
	defer func() {
		// A fill whose store does not close cleanly is not a fill.
		if cerr := st.Close(); err == nil {
			err = cerr
		}
	}()
	now := time.Now().UTC().Truncate(time.Microsecond)
	app := conncred.App{ID: ksuid.New(now), DisplayName: fmt.Sprintf("conncred-bench filler (%d credentials)", n), CreatedAt: now, UpdatedAt: now}
	if err := st.CreateApp(ctx, app); err != nil {
		return Filled{}, err
	}
	f = Filled{AppID: app.ID}
	step := max(1, n/10_000)
	rng := rand.NewChaCha8([32]byte{'c', 'o', 'n', 'n', 'c', 'r', 'e', 'd'})
	var seed [ed25519.SeedSize]byte
	var conn conncred.Connector
	for i := range n {
		if i%perConnector == 0 {
			conn = conncred.Connector{ID: ksuid.New(now), AppID: app.ID, DisplayName: fmt.Sprintf("filler %d", i/perConnector), CreatedAt: now, UpdatedAt: now}
			if err := st.CreateConnector(ctx, conn); err != nil {
				return f, err
			}
		}
		// Distinct keys, made fast: a key pair from a seeded stream, not
		// from the system's randomness.
		binary.LittleEndian.PutUint64(seed[:], rng.Uint64())
		binary.LittleEndian.PutUint64(seed[8:], uint64(i))
		pub := ed25519.NewKeyFromSeed(seed[:]).Public().(ed25519.PublicKey)
		c := conncred.Credential{
			ID: ksuid.New(now), Kind: conncred.KindConnector, AppID: app.ID, ConnectorID: conn.ID,
			ClientID:    fmt.Sprintf("filler-%08d@127.0.0.1/ccc", i),
			DisplayName: "filler", PublicKey: pub, Thumbprint: secret.Thumbprint(pub),
			CreatedAt: now, UpdatedAt: now,
		}
		if err := st.CreateCredential(ctx, c, conncred.ActiveLimit{}); err != nil {
			return f, err
		}
		if i%step == 0 {
			f.Sample = append(f.Sample, FilledCredential{ConnectorID: conn.ID, ID: c.ID})
		}
		if progress != nil && (i+1)%100_000 == 0 {
			progress(i + 1)
		}
		if err := ctx.Err(); err != nil {
			return f, err
		}
	}
	return f, nil
}
