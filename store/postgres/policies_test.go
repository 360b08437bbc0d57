package postgres

import (
	"testing"

	"github.com/conncred/conncred/store/storetest"
)

// Two pools over one schema are two nodes: each policy event is recorded
// once whichever node records it.

func TestPolicyEventsAcrossNodes(t *testing.T) {
	u := schemaURL(t)
	storetest.PolicyEventsOnce(t, open(t, u), open(t, u))
}

func TestPolicySchedulersAcrossNodes(t *testing.T) {
	u := schemaURL(t)
	storetest.PolicySchedulersOnce(t, open(t, u), open(t, u))
}

func TestConnectorSchedulersAcrossNodes(t *testing.T) {
	u := schemaURL(t)
	storetest.ConnectorSchedulersOnce(t, open(t, u), open(t, u))
}
