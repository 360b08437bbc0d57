// Package fsutil holds the file handling that the server's data directory
// and the CLI share.
package fsutil

import (
	"os"
	"path/filepath"
)

// WriteFileAtomic writes data to path with the given mode, through a
// temporary file in the same directory that is synced and then renamed over
// path: a reader (or a restart after a crash) sees the old file or the whole
// new one, never a part. The mode is set before any byte is written, so a
// secret is never readable by others even briefly. On error path is left as
// it was and the temporary file is removed.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
