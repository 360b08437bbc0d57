package authority

import (
	"context"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/secret"
)

// TestRotateNamesWhatWasNotFound checks a rotate's not-found message names
// the record the caller got wrong.
func TestRotateNamesWhatWasNotFound(t *testing.T) {
	f := newFixture(t, Config{})
	conn := f.connector(t)
	other := f.connector(t)
	deleted := f.connector(t)
	if err := f.a.DeleteApp(f.admin, deleted.AppID); err != nil {
		t.Fatal(err)
	}
	const unknown = "2HErg7BRmNdHgX8sTCWVq4E1fyh" // a valid KSUID no record has
	tests := []struct {
		name, appID, connID, want string
	}{
		{"unknown app", unknown, conn.ID, `app "` + unknown + `" not found`},
		{"malformed app id", "nope", conn.ID, `app "nope" not found`},
		{"deleted app", deleted.AppID, deleted.ID, `app "` + deleted.AppID + `" not found`},
		{"unknown connector", conn.AppID, unknown, `connector "` + unknown + `" not found`},
		{"connector under another app", other.AppID, conn.ID, `connector "` + conn.ID + `" not found`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := f.a.RotateCredential(f.admin, tc.appID, tc.connID, CredentialOptions{})
			wantCode(t, err, conncred.ENotFound)
			if got := conncred.ErrorMessage(err); got != tc.want {
				t.Fatalf("message: got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestLastUsedAtNeverBeforeCreatedAt checks that cutting lastUsedAt to the
// second never puts it before the credential's createdAt, and that the
// once-a-second write economy holds in the creation second too: every use
// in that second records the same time, so the store's only-if-newer update
// writes the row once.
func TestLastUsedAtNeverBeforeCreatedAt(t *testing.T) {
	f := newFixture(t, Config{})
	// No background flush: the test flushes, so it reads exact values.
	a, err := New(context.Background(), Config{LastUsedInterval: time.Hour}, f.store, f.clock, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	f.clock.Advance(533 * time.Millisecond) // created at 17:00:00.533
	conn := f.connector(t)
	cred, s, err := a.RotateCredential(f.admin, conn.AppID, conn.ID, CredentialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	priv, err := secret.Parse(s.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	use := func(t *testing.T) time.Time {
		t.Helper()
		if _, err := a.Exchange(context.Background(), tokenReq(cred.ClientID, officialAssertion(cred.ClientID, "127.0.0.1", f.clock.Now()).sign(t, priv))); err != nil {
			t.Fatal(err)
		}
		a.lastUsed.mu.Lock()
		pending := a.lastUsed.pending[cred.ID]
		a.lastUsed.mu.Unlock()
		a.Flush(context.Background())
		got, err := f.store.GetCredential(context.Background(), cred.ID)
		if err != nil || got.LastUsedAt == nil {
			t.Fatalf("lastUsedAt: %v, %v", got.LastUsedAt, err)
		}
		if !got.LastUsedAt.Equal(pending) {
			t.Fatalf("stored lastUsedAt %s, flushed %s", got.LastUsedAt, pending)
		}
		return *got.LastUsedAt
	}
	tests := []struct {
		name    string
		advance time.Duration
		want    time.Time
	}{
		{"first use in the creation second", 200 * time.Millisecond, cred.CreatedAt},              // 00.733
		{"second use in the creation second, same value", 100 * time.Millisecond, cred.CreatedAt}, // 00.833
		{"use in the next second, cut to the second", time.Second, t0.Add(time.Second)},           // 01.833
		{"another use in that second, same value", 100 * time.Millisecond, t0.Add(time.Second)},   // 01.933
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.clock.Advance(tc.advance)
			got := use(t)
			if !got.Equal(tc.want) {
				t.Fatalf("lastUsedAt at %s: got %s, want %s", f.clock.Now().Format(time.RFC3339Nano), got.Format(time.RFC3339Nano), tc.want.Format(time.RFC3339Nano))
			}
			if got.Before(cred.CreatedAt) {
				t.Fatalf("lastUsedAt %s is before createdAt %s", got.Format(time.RFC3339Nano), cred.CreatedAt.Format(time.RFC3339Nano))
			}
		})
	}
}
