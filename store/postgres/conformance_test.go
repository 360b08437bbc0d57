package postgres

import (
	"testing"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/store/storetest"
)

// TestConformance runs the suite every Store passes, each subtest on a
// fresh schema.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) conncred.Store { return open(t, schemaURL(t)) })
}
