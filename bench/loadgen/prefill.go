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
	"github.com/conncred/conncred/store/sqlite"
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

// Prefill writes n connector credentials, perConnector to a connector under
// one app, into the SQLite database at path before a server opens it,
// through the store: a million through the API would take hours of
// rotations, through the store they take as long as SQLite's commits. The
// credentials are real rows (key, thumbprint, client id) whose private keys
// are thrown away: they fill the tables and indexes, they are never used.
func Prefill(ctx context.Context, path string, n, perConnector int, progress func(done int)) (Filled, error) {
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return Filled{}, err
	}
	defer st.Close()
	now := time.Now().UTC().Truncate(time.Microsecond)
	app := conncred.App{ID: ksuid.New(now), DisplayName: fmt.Sprintf("conncred-bench filler (%d credentials)", n), CreatedAt: now, UpdatedAt: now}
	if err := st.CreateApp(ctx, app); err != nil {
		return Filled{}, err
	}
	f := Filled{AppID: app.ID}
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
