package postgres

import (
	"bytes"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/clock"
)

// TestOrphanChunkSweep: the background pass (baton.Service.Tick, on a fake
// clock) deletes the chunks of an upload whose node died only once they
// have stayed uncommitted for OrphanGrace, never an upload still being
// written or a committed one, and counts what it deleted.
func TestOrphanChunkSweep(t *testing.T) {
	u := schemaURL(t)
	st := open(t, u)
	blobs := st.Blobs()
	blobs.ChunkSize = 64 << 10
	clk := clock.NewFake(now)
	const grace = time.Hour
	svc := baton.New(baton.Config{OrphanGrace: grace}, baton.Deps{Store: st, Artifacts: blobs, Clock: clk})
	sys := conncred.WithPrincipal(ctx, conncred.System)

	dead, err := blobs.Create(ctx) // its node is killed: never committed, never aborted
	must(t, err)
	if _, err := dead.Write(bytes.Repeat([]byte{1}, 200<<10)); err != nil {
		t.Fatal(err)
	}
	done, err := blobs.Create(ctx)
	must(t, err)
	if _, err := done.Write(bytes.Repeat([]byte{2}, 100<<10)); err != nil {
		t.Fatal(err)
	}
	key, err := done.Commit(ctx)
	must(t, err)

	chunks := func() int {
		t.Helper()
		var n int
		must(t, st.pool.QueryRow(ctx, `SELECT count(*) FROM baton_blob_chunks`).Scan(&n))
		return n
	}
	must(t, svc.Tick(sys)) // first sight of the orphan
	clk.Advance(grace - time.Second)
	late, err := blobs.Create(ctx) // an upload that starts just before the sweep
	must(t, err)
	if _, err := late.Write(bytes.Repeat([]byte{3}, 64<<10)); err != nil {
		t.Fatal(err)
	}
	must(t, svc.Tick(sys))
	if got, want := chunks(), 3+2+1; got != want {
		t.Fatalf("chunks before the grace ran out: got %d, want %d", got, want)
	}
	clk.Advance(time.Second)
	must(t, svc.Tick(sys))
	if got, want := chunks(), 2+1; got != want {
		t.Errorf("chunks after the grace: got %d, want %d (the committed upload's and the live one's)", got, want)
	}
	if m := svc.Metrics(); m.OrphanUploadsSwept != 1 || m.OrphanChunksSwept != 3 {
		t.Errorf("metrics: %d uploads, %d chunks swept; want 1 and 3", m.OrphanUploadsSwept, m.OrphanChunksSwept)
	}
	// The live upload commits after all and stays whole.
	lateKey, err := late.Commit(ctx)
	must(t, err)
	clk.Advance(2 * grace)
	must(t, svc.Tick(sys))
	for _, k := range []string{key, lateKey} {
		if _, err := blobs.Open(ctx, k); err != nil {
			t.Errorf("committed artifact %s: %v", k, err)
		}
	}
	if got, want := chunks(), 2+1; got != want {
		t.Errorf("chunks at the end: got %d, want %d", got, want)
	}
}
