package main

import (
	"strings"
	"testing"
)

// TestCLIAuditFilters: the audit command's filters reach the server, which
// refuses a bad one with a message that says what to send.
func TestCLIAuditFilters(t *testing.T) {
	e := newCLIEnv(t)
	var out struct {
		List          []struct{ Kind, Actor, Outcome string }
		NextPageToken string
	}
	e.mustJSON(t, &out, "audit", "--actor", "nobody-", "--outcome", "failure", "--source", "10.1.", "--newest-first")
	if len(out.List) != 0 {
		t.Errorf("audit by an actor that never acted: %+v", out.List)
	}
	_, errOut, code := e.run(t, "audit", "--outcome", "ok")
	if code != 1 || !strings.Contains(errOut, "outcome must be one of success, failure, unchanged") {
		t.Errorf("audit --outcome ok: exit %d, %q", code, errOut)
	}
}
