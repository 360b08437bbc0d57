package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/baton"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// BlobStore keeps artifact bytes in PostgreSQL, in chunks, so that an
// artifact uploaded to one node can be downloaded from any other. This is
// conncred's multi-node artifact storage: it needs nothing besides the
// database the nodes already share, and PostgreSQL's bytea chunks of
// ChunkSize keep each row well under the 1 GB field limit and each write
// small.
//
// A writer inserts each chunk as it fills, so an upload is never held in
// memory; the artifact becomes visible only when Commit inserts its
// baton_blobs row. A node killed mid-upload leaves chunks without that row,
// which no reader can reach and SweepBlobChunks deletes.
type BlobStore struct {
	s *Store
	// ChunkSize is the size of the stored chunks (default 1 MiB).
	ChunkSize int
	// Now stamps commits (default time.Now).
	Now func() time.Time
}

var _ baton.ArtifactStore = (*BlobStore)(nil)

// Blobs returns the artifact store on this database.
func (s *Store) Blobs() *BlobStore { return &BlobStore{s: s, ChunkSize: 1 << 20, Now: time.Now} }

// Create starts a new artifact.
func (b *BlobStore) Create(ctx context.Context) (baton.ArtifactWriter, error) {
	var k [16]byte
	_, _ = rand.Read(k[:])
	return &blobWriter{b: b, ctx: ctx, key: hex.EncodeToString(k[:])}, nil
}

// Open returns a reader that fetches the artifact one chunk at a time.
func (b *BlobStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	var size int64
	err := b.s.do(ctx, func(ctx context.Context, c *pgxpool.Conn) error {
		return c.QueryRow(ctx, `SELECT size FROM baton_blobs WHERE blob_key = $1`, key).Scan(&size)
	})
	if err != nil {
		if conncred.ErrorCode(err) == conncred.ENotFound {
			return nil, conncred.Errorf(conncred.ENotFound, "no such artifact")
		}
		return nil, err
	}
	return &blobReader{b: b, ctx: ctx, key: key}, nil
}

// Delete removes an artifact and its chunks.
func (b *BlobStore) Delete(ctx context.Context, key string) error {
	return b.s.tx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM baton_blobs WHERE blob_key = $1`, key); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM baton_blob_chunks WHERE blob_key = $1`, key)
		return err
	})
}

// SweepBlobChunks deletes the chunks of keys that still have no committed
// blob (a node died mid-upload, or an aborted writer's delete failed). It
// returns how many chunks it deleted. Pass keys that OrphanBlobKeys listed
// a while ago, so that an upload still being written is never swept.
func (b *BlobStore) SweepBlobChunks(ctx context.Context, keys []string) (int, error) {
	tag, err := b.s.execTag(ctx, `DELETE FROM baton_blob_chunks c WHERE c.blob_key = ANY($1)
		AND NOT EXISTS (SELECT 1 FROM baton_blobs b WHERE b.blob_key = c.blob_key)`, keys)
	return int(tag.RowsAffected()), err
}

// OrphanBlobKeys lists keys that have chunks but no committed blob. A
// caller sweeps those it saw in a previous pass too, so that an upload
// still being written is never swept.
func (b *BlobStore) OrphanBlobKeys(ctx context.Context, limit int) ([]string, error) {
	return list(ctx, b.s, func(r pgx.Row) (string, error) {
		var k string
		return k, r.Scan(&k)
	}, `SELECT DISTINCT c.blob_key FROM baton_blob_chunks c
		WHERE NOT EXISTS (SELECT 1 FROM baton_blobs b WHERE b.blob_key = c.blob_key) LIMIT $1`, limitArg(limit))
}

type blobWriter struct {
	b    *BlobStore
	ctx  context.Context
	key  string
	buf  bytes.Buffer
	seq  int
	size int64
	err  error
	done bool
}

func (w *blobWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := len(p)
	for len(p) > 0 {
		room := w.b.ChunkSize - w.buf.Len()
		take := min(room, len(p))
		w.buf.Write(p[:take])
		p = p[take:]
		if w.buf.Len() == w.b.ChunkSize {
			if err := w.flush(); err != nil {
				return 0, err
			}
		}
	}
	return n, nil
}

func (w *blobWriter) flush() error {
	if w.buf.Len() == 0 {
		return nil
	}
	err := w.b.s.exec(w.ctx, `INSERT INTO baton_blob_chunks (blob_key, seq, data) VALUES ($1, $2, $3)`, w.key, w.seq, w.buf.Bytes())
	if err != nil {
		w.err = err
		return err
	}
	w.size += int64(w.buf.Len())
	w.seq++
	w.buf.Reset()
	return nil
}

func (w *blobWriter) Commit(ctx context.Context) (string, error) {
	w.done = true
	if err := w.flush(); err != nil {
		w.cleanup()
		return "", err
	}
	if err := w.b.s.exec(ctx, `INSERT INTO baton_blobs (blob_key, size, committed_at) VALUES ($1, $2, $3)`, w.key, w.size, w.b.Now()); err != nil {
		w.cleanup()
		return "", err
	}
	return w.key, nil
}

func (w *blobWriter) Abort() {
	if w.done {
		return
	}
	w.done = true
	w.cleanup()
}

func (w *blobWriter) cleanup() {
	// A fresh context: the upload's may be what ended.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = w.b.s.exec(ctx, `DELETE FROM baton_blob_chunks WHERE blob_key = $1`, w.key)
}

type blobReader struct {
	b   *BlobStore
	ctx context.Context
	key string
	seq int
	cur []byte
	eof bool
}

func (r *blobReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.eof {
			return 0, io.EOF
		}
		var data []byte
		err := r.b.s.do(r.ctx, func(ctx context.Context, c *pgxpool.Conn) error {
			return c.QueryRow(ctx, `SELECT data FROM baton_blob_chunks WHERE blob_key = $1 AND seq = $2`, r.key, r.seq).Scan(&data)
		})
		if conncred.ErrorCode(err) == conncred.ENotFound {
			r.eof = true
			continue
		}
		if err != nil {
			return 0, err
		}
		r.cur = data
		r.seq++
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

func (r *blobReader) Close() error { return nil }
