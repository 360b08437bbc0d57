package postgres

import (
	"testing"

	"github.com/conncred/conncred/store/storetest"
)

// Two pools over one schema are two nodes: each policy event is one
// webhook delivery per endpoint whichever node records it.
func TestJoinSchedulersDeliverOnceAcrossNodes(t *testing.T) {
	u := schemaURL(t)
	storetest.JoinSchedulersDeliverOnce(t, open(t, u), open(t, u))
}
