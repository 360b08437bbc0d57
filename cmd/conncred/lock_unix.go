//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockSQLite takes an exclusive advisory lock beside the SQLite database at
// path, so that a second `conncred serve` on the same file refuses to
// start. Two servers would each trust their own credential cache, so a
// revoke on one would be honoured by the other only when its cache entry
// expired, and each would bootstrap and sweep on its own. The kernel drops
// the lock when the process ends, however it ends.
func lockSQLite(path string) (unlock func(), err error) {
	lockPath := path + ".serve.lock"
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("creating the lock file %s: %w", lockPath, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another conncred serve is using %s (it holds %s): run one server per SQLite database, or several on PostgreSQL", path, lockPath)
		}
		return nil, fmt.Errorf("locking %s: %w", lockPath, err)
	}
	return func() { f.Close() }, nil
}
