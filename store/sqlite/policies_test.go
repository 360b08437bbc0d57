package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/conncred/conncred/store/storetest"
)

// Two Stores over one file are two processes sharing the database: each
// policy event is recorded once whichever records it.

func TestPolicyEventsAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	storetest.PolicyEventsOnce(t, openTest(t, path), openTest(t, path))
}

func TestPolicySchedulersAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	storetest.PolicySchedulersOnce(t, openTest(t, path), openTest(t, path))
}

func TestConnectorSchedulersAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	storetest.ConnectorSchedulersOnce(t, openTest(t, path), openTest(t, path))
}
