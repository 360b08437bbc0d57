package authority

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/conncred/conncred"
)

// touchStub is a credentialToucher that fails while failing is set.
type touchStub struct {
	failing bool
	written []conncred.CredentialUse
}

func (s *touchStub) TouchCredentials(_ context.Context, uses []conncred.CredentialUse) error {
	if s.failing {
		return errors.New("database is down")
	}
	s.written = append(s.written, uses...)
	return nil
}

// TestLastUsedRetriesAFailedFlush: a batch the store refused is written by
// the next flush, with the latest use of each credential.
func TestLastUsedRetriesAFailedFlush(t *testing.T) {
	st := &touchStub{failing: true}
	w := newLastUsedWriter(st, slog.New(slog.DiscardHandler))
	w.touch("a", t0, t0.Add(1500*time.Millisecond))
	w.flush(context.Background())
	w.touch("a", t0, t0.Add(2500*time.Millisecond))
	w.touch("b", t0, t0.Add(-time.Second)) // before createdAt: recorded at createdAt
	st.failing = false
	w.flush(context.Background())
	got := map[string]time.Time{}
	for _, u := range st.written {
		got[u.ID] = u.At
	}
	want := map[string]time.Time{"a": t0.Add(2 * time.Second), "b": t0}
	if len(got) != len(want) || len(st.written) != len(want) {
		t.Fatalf("got writes %+v, want one each of %v", st.written, want)
	}
	for id, at := range want {
		if !got[id].Equal(at) {
			t.Errorf("credential %s: got lastUsedAt %v, want %v", id, got[id], at)
		}
	}
	w.flush(context.Background())
	if len(st.written) != len(want) {
		t.Errorf("an empty flush wrote again: %+v", st.written)
	}
}
