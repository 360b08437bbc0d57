package authority

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/conncred/conncred"
)

// credentialToucher is the one Store method the lastUsedAt writer uses.
type credentialToucher interface {
	TouchCredentials(ctx context.Context, uses []conncred.CredentialUse) error
}

// lastUsedWriter collects successful authentications and writes lastUsedAt
// behind them in batches, so a token exchange never waits on a disk write.
// Each flush writes each credential once, with its latest use, and the store
// never moves the value backwards, so batches from several nodes in any
// order end with the latest time.
type lastUsedWriter struct {
	store credentialToucher
	log   *slog.Logger

	// writing is held for a whole flush, so a Flush that runs while the
	// background loop is flushing waits for it (see auditor.writing).
	writing sync.Mutex

	mu      sync.Mutex
	pending map[string]time.Time
	oldest  time.Time // when the earliest pending use was recorded (not cut to the second)
}

func newLastUsedWriter(store credentialToucher, log *slog.Logger) *lastUsedWriter {
	return &lastUsedWriter{store: store, log: log, pending: map[string]time.Time{}}
}

// touch records a use, at at, of credential id created at createdAt. The
// time is cut to the second: whole seconds make the store's "only if newer"
// update a no-op for a second use in the same second, so however many nodes
// flush, a credential's row is written at most once a second (one node's
// flush is already once a second).
//
// Cutting can put a use in the credential's first second before its
// createdAt (a use at 57.7 s of a credential created at 57.5 s would read
// 57 s), so such a use is recorded at createdAt instead. That keeps the
// economy (every use in that second records the same createdAt) and the
// order createdAt <= lastUsedAt <= the real use; rounding up instead would
// put lastUsedAt in the future.
func (w *lastUsedWriter) touch(id string, createdAt, at time.Time) {
	used := at
	at = at.Truncate(time.Second)
	if at.Before(createdAt) {
		at = createdAt
	}
	w.mu.Lock()
	if len(w.pending) == 0 || used.Before(w.oldest) {
		w.oldest = used
	}
	if cur, ok := w.pending[id]; !ok || at.After(cur) {
		w.pending[id] = at
	}
	w.mu.Unlock()
}

// flush writes the pending uses. It returns how many credentials it wrote
// (or tried to), when the earliest of their uses was recorded (for the
// flush lag), and the store's error.
func (w *lastUsedWriter) flush(ctx context.Context) (n int, oldest time.Time, err error) {
	w.writing.Lock()
	defer w.writing.Unlock()
	w.mu.Lock()
	if len(w.pending) == 0 {
		w.mu.Unlock()
		return 0, time.Time{}, nil
	}
	batch, oldest := w.pending, w.oldest
	w.pending = make(map[string]time.Time, len(batch))
	w.mu.Unlock()

	uses := make([]conncred.CredentialUse, 0, len(batch))
	for id, at := range batch {
		uses = append(uses, conncred.CredentialUse{ID: id, At: at})
	}
	if err := w.store.TouchCredentials(ctx, uses); err != nil {
		// Put the batch back (keeping any newer use) so the next flush
		// retries it: lastUsedAt is late, not lost.
		w.mu.Lock()
		if len(w.pending) == 0 || oldest.Before(w.oldest) {
			w.oldest = oldest
		}
		for id, at := range batch {
			if cur, ok := w.pending[id]; !ok || at.After(cur) {
				w.pending[id] = at
			}
		}
		w.mu.Unlock()
		w.log.Warn("writing lastUsedAt", "credentials", len(uses), "err", err)
		return len(uses), oldest, err
	}
	return len(uses), oldest, nil
}
