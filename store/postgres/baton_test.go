package postgres

import (
	"bytes"
	"crypto/rand"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/baton"
	"github.com/conncred/conncred/internal/ksuid"
)

func batonConnector(t *testing.T, s *Store) conncred.Connector {
	t.Helper()
	a := conncred.App{ID: ksuid.New(now), DisplayName: "a", CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateApp(ctx, a))
	c := conncred.Connector{ID: ksuid.New(now), AppID: a.ID, DisplayName: "c", CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateConnector(ctx, c))
	return c
}

// TestBatonClaimAcrossNodes: two nodes (two pools on one database) poll
// for the same connector's tasks at once; every task is handed out
// exactly once.
func TestBatonClaimAcrossNodes(t *testing.T) {
	u := schemaURL(t)
	nodes := []*Store{open(t, u), open(t, u)}
	c := batonConnector(t, nodes[0])
	const tasks = 200
	for i := range tasks {
		at := now.Add(time.Duration(i) * time.Millisecond)
		must(t, nodes[0].CreateTask(ctx, baton.Task{ID: ksuid.New(at), ConnectorID: c.ID, AppID: c.AppID, Type: baton.TypeHello,
			State: baton.StatePending, Attempt: 1, CreatedAt: at, NotBefore: at}))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range 16 {
		node := nodes[w%2]
		wg.Go(func() {
			for {
				got, _, err := node.ClaimTasks(ctx, c.ID, "host", now.Add(time.Hour), 1+w%3)
				if err != nil {
					t.Errorf("claim: %v", err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, tk := range got {
					seen[tk.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != tasks {
		t.Errorf("distinct tasks claimed: got %d, want %d", len(seen), tasks)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("task %s handed out %d times", id, n)
		}
	}
	// The one-sync rule holds across nodes too: of many racing inserts,
	// one wins.
	errs := make(chan error, 10)
	for i := range 10 {
		wg.Go(func() {
			at := now.Add(time.Duration(i) * time.Second)
			errs <- nodes[i%2].CreateTask(ctx, baton.Task{ID: ksuid.New(at), ConnectorID: c.ID, AppID: c.AppID, Type: baton.TypeSyncFull,
				State: baton.StatePending, Attempt: 1, CreatedAt: at, NotBefore: at})
		})
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		if err == nil {
			won++
		} else if conncred.ErrorCode(err) != conncred.EConflict {
			t.Errorf("racing sync insert: %v, want conflict", err)
		}
	}
	if won != 1 {
		t.Errorf("racing sync inserts that won: %d, want 1", won)
	}
}

// TestBlobsAcrossNodes: an artifact written through one node reads back
// byte-identical from the other; an upload that never commits (its node
// died) is invisible and swept.
func TestBlobsAcrossNodes(t *testing.T) {
	u := schemaURL(t)
	a, b := open(t, u).Blobs(), open(t, u).Blobs()
	a.ChunkSize = 64 << 10
	body := make([]byte, 300<<10+17)
	_, _ = rand.Read(body)
	w, err := a.Create(ctx)
	must(t, err)
	for rest := body; len(rest) > 0; {
		n := min(len(rest), 50_000)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	key, err := w.Commit(ctx)
	must(t, err)
	r, err := b.Open(ctx, key)
	must(t, err)
	got, err := io.ReadAll(r)
	must(t, err)
	if !bytes.Equal(got, body) {
		t.Fatalf("read on the other node: %d bytes, not identical to the %d written", len(got), len(body))
	}

	// A writer whose node dies: chunks written, never committed.
	dead, err := a.Create(ctx)
	must(t, err)
	if _, err := dead.Write(bytes.Repeat([]byte{1}, 200<<10)); err != nil {
		t.Fatal(err)
	}
	orphans, err := b.OrphanBlobKeys(ctx, 10)
	must(t, err)
	if len(orphans) != 1 {
		t.Fatalf("orphan uploads: got %v, want the dead one", orphans)
	}
	_, err = b.Open(ctx, orphans[0])
	wantCode(t, err, conncred.ENotFound)
	n, err := b.SweepBlobChunks(ctx, orphans)
	must(t, err)
	if n != 3 {
		t.Errorf("chunks swept: %d, want 3", n)
	}
	must(t, b.Delete(ctx, key))
	_, err = a.Open(ctx, key)
	wantCode(t, err, conncred.ENotFound)
}
