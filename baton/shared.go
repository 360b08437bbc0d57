package baton

import (
	"context"
	"crypto/rand"
	"sync"
	"time"

	"github.com/conncred/conncred"
)

// downloadKeyName names the HMAC key of download URLs in SharedKey.
const downloadKeyName = "download_url_hmac"

// keyCache holds the shared download key once read: it never changes, so
// one database read per process is enough.
type keyCache struct {
	mu  sync.Mutex
	key []byte
}

// DownloadKey returns the key that signs sync download URLs. It lives in
// the database, made by the first node that needs it, so a URL made on
// one node works on every node sharing the database (a per-process key
// would send a load-balanced download to a node that cannot check it).
func (s *Service) DownloadKey(ctx context.Context) ([]byte, error) {
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	if s.keys.key != nil {
		return s.keys.key, nil
	}
	candidate := make([]byte, 32)
	if _, err := rand.Read(candidate); err != nil {
		return nil, err
	}
	key, err := s.store.SharedKey(ctx, downloadKeyName, candidate, s.now())
	if err != nil {
		return nil, err
	}
	if len(key) < 32 {
		return nil, conncred.Errorf(conncred.EInternal, "the stored download URL key is %d bytes, want 32", len(key))
	}
	s.keys.key = key
	return key, nil
}

// OrphanSweeper is an ArtifactStore that can hold the bytes of uploads that
// never committed and are not cleaned up on their own: PostgreSQL chunks
// written by a node killed mid-upload (a directory store sweeps its
// partial files at start instead).
type OrphanSweeper interface {
	// OrphanBlobKeys lists at most limit keys with bytes but no commit.
	OrphanBlobKeys(ctx context.Context, limit int) ([]string, error)
	// SweepBlobChunks deletes the bytes of those keys still uncommitted
	// and returns how many chunks it deleted.
	SweepBlobChunks(ctx context.Context, keys []string) (int, error)
}

// orphans remembers when each uncommitted key was first seen, so a key is
// swept only after OrphanGrace: an upload still being written (it may run
// for the upload deadline) is never swept under its writer.
type orphans struct {
	mu    sync.Mutex
	first map[string]time.Time
}

// sweepOrphans deletes the chunks of uploads that have stayed uncommitted
// for OrphanGrace. Each node sweeps on its own; the delete checks again
// that no commit exists, so a late commit is never lost.
func (s *Service) sweepOrphans(ctx context.Context, now time.Time) error {
	sw, ok := s.artifacts.(OrphanSweeper)
	if !ok {
		return nil
	}
	keys, err := sw.OrphanBlobKeys(ctx, batch)
	if err != nil {
		return err
	}
	s.orphans.mu.Lock()
	seen := make(map[string]time.Time, len(keys))
	var due []string
	for _, k := range keys {
		at, ok := s.orphans.first[k]
		if !ok {
			at = now
		}
		seen[k] = at
		if now.Sub(at) >= s.cfg.OrphanGrace {
			due = append(due, k)
		}
	}
	s.orphans.first = seen // keys no longer listed were committed or swept
	s.orphans.mu.Unlock()
	if len(due) == 0 {
		return nil
	}
	n, err := sw.SweepBlobChunks(ctx, due)
	if err != nil {
		return err
	}
	s.metrics.orphanKeys.Add(int64(len(due)))
	s.metrics.orphanChunks.Add(int64(n))
	s.log.Info("removed the chunks of uploads that never completed", "uploads", len(due), "chunks", n)
	return nil
}
