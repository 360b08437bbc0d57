package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/conncred/conncred/store/storetest"
)

// Two Stores over one file are two processes: each policy event is one
// webhook delivery per endpoint whichever process records it.
func TestJoinSchedulersDeliverOnceAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	storetest.JoinSchedulersDeliverOnce(t, openTest(t, path), openTest(t, path))
}
