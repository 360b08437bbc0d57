package baton

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/conncred/conncred"
)

// DirStore keeps artifacts as files in one directory (by default
// <data-dir>/artifacts), for a single node. A writer writes a hidden temp
// file in the same directory, fsyncs it, renames it to its key and fsyncs
// the directory: a reader sees the whole file or none, and a crash leaves
// only a temp file, which Sweep removes.
type DirStore struct {
	Dir string
}

var _ ArtifactStore = (*DirStore)(nil)

const tmpPrefix = ".upload-"

// NewDirStore returns a DirStore over dir, creating it (mode 0700).
func NewDirStore(dir string) (*DirStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the artifact directory: %w", err)
	}
	return &DirStore{Dir: dir}, nil
}

// Sweep removes temp files left by a crash mid-upload. Call it at start-up,
// before any upload runs.
func (d *DirStore) Sweep() (int, error) {
	ents, err := os.ReadDir(d.Dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			if err := os.Remove(filepath.Join(d.Dir, e.Name())); err == nil {
				n++
			}
		}
	}
	return n, nil
}

func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// validKey keeps a key from naming anything outside the directory.
func validKey(key string) bool {
	if len(key) != 32 {
		return false
	}
	_, err := hex.DecodeString(key)
	return err == nil
}

// Create starts a new artifact file.
func (d *DirStore) Create(ctx context.Context) (ArtifactWriter, error) {
	f, err := os.CreateTemp(d.Dir, tmpPrefix+"*")
	if err != nil {
		return nil, conncred.WrapError(conncred.EUnavailable, err, "cannot store the upload")
	}
	return &dirWriter{dir: d.Dir, f: f}, nil
}

// Open opens a committed artifact.
func (d *DirStore) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if !validKey(key) {
		return nil, conncred.Errorf(conncred.ENotFound, "no such artifact")
	}
	f, err := os.Open(filepath.Join(d.Dir, key))
	if errors.Is(err, os.ErrNotExist) {
		return nil, conncred.Errorf(conncred.ENotFound, "no such artifact")
	}
	if err != nil {
		return nil, conncred.WrapError(conncred.EUnavailable, err, "cannot read the artifact")
	}
	return f, nil
}

// Delete removes a committed artifact.
func (d *DirStore) Delete(ctx context.Context, key string) error {
	if !validKey(key) {
		return nil
	}
	err := os.Remove(filepath.Join(d.Dir, key))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return conncred.WrapError(conncred.EUnavailable, err, "cannot delete the artifact")
	}
	return nil
}

type dirWriter struct {
	dir  string
	f    *os.File
	done bool
}

func (w *dirWriter) Write(p []byte) (int, error) { return w.f.Write(p) }

func (w *dirWriter) Commit(ctx context.Context) (string, error) {
	w.done = true
	key := newKey()
	err := w.f.Sync()
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(w.f.Name(), filepath.Join(w.dir, key))
	}
	if err == nil {
		err = syncDir(w.dir)
	}
	if err != nil {
		_ = os.Remove(w.f.Name())
		return "", conncred.WrapError(conncred.EUnavailable, err, "cannot store the upload")
	}
	return key, nil
}

func (w *dirWriter) Abort() {
	if w.done {
		return
	}
	w.done = true
	_ = w.f.Close()
	_ = os.Remove(w.f.Name())
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
