package storetest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/console"
)

// consoleTests pin console.Store: login links are single use under any
// contention, sessions only move forward, and the sweep is bounded.
var consoleTests = []test{
	{"RedeemOnce", testConsoleRedeemOnce},
	{"RedeemExpiredOrUnknown", testConsoleRedeemExpiredOrUnknown},
	{"RedeemUnderContention", testConsoleRedeemUnderContention},
	{"LinkRefs", testConsoleLinkRefs},
	{"TouchNeverBack", testConsoleTouchNeverBack},
	{"EndKeepsFirst", testConsoleEndKeepsFirst},
	{"SweepBounded", testConsoleSweepBounded},
}

func consoleStore(t testing.TB, s conncred.Store) console.Store {
	t.Helper()
	cs, ok := s.(console.Store)
	if !ok {
		t.Fatalf("%T does not implement console.Store", s)
	}
	return cs
}

// randomHash is a hash as the wing stores it: SHA-256 of a random value.
func randomHash(t testing.TB) []byte {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return h[:]
}

// newConsoleLink stores a link for credentialID made at created, valid for
// console.LinkLifetime.
func newConsoleLink(t testing.TB, cs console.Store, credentialID string, created time.Time) console.Link {
	t.Helper()
	l := console.Link{ID: newID(), TokenHash: randomHash(t), CredentialID: credentialID, CreatedAt: created, ExpiresAt: created.Add(console.LinkLifetime)}
	must(t, cs.CreateConsoleLink(t.Context(), l))
	return l
}

// consoleSession is a session to start at `at`, for a redeem to fill in.
func consoleSession(t testing.TB, at time.Time) console.Session {
	return console.Session{ID: newID(), TokenHash: randomHash(t), Source: "192.0.2.7:51234", CreatedAt: at, LastSeenAt: at, ExpiresAt: at.Add(console.AbsoluteTimeout)}
}

// newConsoleSession redeems a fresh link for credentialID at `at`.
func newConsoleSession(t testing.TB, cs console.Store, credentialID string, at time.Time) console.Session {
	t.Helper()
	l := newConsoleLink(t, cs, credentialID, at)
	sess, err := cs.RedeemConsoleLink(t.Context(), l.TokenHash, at, consoleSession(t, at))
	must(t, err)
	return sess
}

func getConsoleSession(t testing.TB, cs console.Store, hash []byte) console.Session {
	t.Helper()
	sess, err := cs.GetConsoleSession(t.Context(), hash)
	must(t, err)
	return sess
}

func diffSession(got, want console.Session) diff {
	var d diff
	d.str("ID", got.ID, want.ID)
	if !bytes.Equal(got.TokenHash, want.TokenHash) {
		d = append(d, "TokenHash differs")
	}
	d.str("CredentialID", got.CredentialID, want.CredentialID)
	d.str("Source", got.Source, want.Source)
	d.time("CreatedAt", got.CreatedAt, want.CreatedAt)
	d.time("LastSeenAt", got.LastSeenAt, want.LastSeenAt)
	d.time("ExpiresAt", got.ExpiresAt, want.ExpiresAt)
	d.timePtr("EndedAt", got.EndedAt, want.EndedAt)
	return d
}

// testConsoleRedeemOnce: a redeem starts the session for the link's
// credential (whatever the caller put there) and answers it as stored; a
// second redeem of the same token is ENotFound and starts nothing.
func testConsoleRedeemOnce(t *testing.T, s conncred.Store) {
	cs := consoleStore(t, s)
	ctx := t.Context()
	cr := newCredential(t, s, nil)
	l := newConsoleLink(t, cs, cr.ID, at(0))
	want := consoleSession(t, at(time.Minute))
	in := want
	in.CredentialID = "ignored: the link's credential wins"
	got, err := cs.RedeemConsoleLink(ctx, l.TokenHash, at(time.Minute), in)
	must(t, err)
	want.CredentialID = cr.ID
	if d := diffSession(got, want); len(d) > 0 {
		t.Errorf("redeem returned a session that differs: %v", d)
	}
	if d := diffSession(getConsoleSession(t, cs, want.TokenHash), want); len(d) > 0 {
		t.Errorf("read back a session that differs: %v", d)
	}
	again := consoleSession(t, at(2*time.Minute))
	_, err = cs.RedeemConsoleLink(ctx, l.TokenHash, at(2*time.Minute), again)
	wantCode(t, err, conncred.ENotFound)
	_, err = cs.GetConsoleSession(ctx, again.TokenHash)
	wantCode(t, err, conncred.ENotFound)
}

// testConsoleRedeemExpiredOrUnknown: a link is redeemable until just
// before its expiry and not at it; an unknown hash is ENotFound; neither
// starts a session.
func testConsoleRedeemExpiredOrUnknown(t *testing.T, s conncred.Store) {
	cs := consoleStore(t, s)
	ctx := t.Context()
	cr := newCredential(t, s, nil)
	expired := newConsoleLink(t, cs, cr.ID, at(0))
	for name, tc := range map[string]struct {
		hash []byte
		at   time.Time
	}{
		"at expiry":    {expired.TokenHash, expired.ExpiresAt},
		"after expiry": {expired.TokenHash, expired.ExpiresAt.Add(time.Hour)},
		"unknown":      {randomHash(t), at(time.Minute)},
	} {
		sess := consoleSession(t, tc.at)
		_, err := cs.RedeemConsoleLink(ctx, tc.hash, tc.at, sess)
		if got := conncred.ErrorCode(err); got != conncred.ENotFound {
			t.Errorf("%s: error code %q (%v), want %q", name, got, err, conncred.ENotFound)
		}
		if _, err := cs.GetConsoleSession(ctx, sess.TokenHash); conncred.ErrorCode(err) != conncred.ENotFound {
			t.Errorf("%s: a refused redeem left a session (%v)", name, err)
		}
	}
	last := newConsoleLink(t, cs, cr.ID, at(0))
	_, err := cs.RedeemConsoleLink(ctx, last.TokenHash, last.ExpiresAt.Add(-time.Microsecond), consoleSession(t, at(0)))
	must(t, err)
}

// testConsoleRedeemUnderContention: many redeems of one token at once,
// on as many connections: exactly one starts a session.
func testConsoleRedeemUnderContention(t *testing.T, s conncred.Store) {
	cs := consoleStore(t, s)
	ctx := t.Context()
	cr := newCredential(t, s, nil)
	for round := range 3 {
		l := newConsoleLink(t, cs, cr.ID, at(0))
		sessions := make([]console.Session, workers)
		for i := range sessions {
			sessions[i] = consoleSession(t, at(time.Minute))
		}
		errs := race(workers, func(i int) error {
			_, err := cs.RedeemConsoleLink(ctx, l.TokenHash, at(time.Minute), sessions[i])
			return err
		})
		if ok := tally(t, "concurrent redeem", errs, conncred.ENotFound); ok != 1 {
			t.Errorf("round %d: %d of %d concurrent redeems succeeded, want 1", round, ok, workers)
		}
		started := 0
		for _, sess := range sessions {
			if _, err := cs.GetConsoleSession(ctx, sess.TokenHash); err == nil {
				started++
			}
		}
		if started != 1 {
			t.Errorf("round %d: %d sessions started, want 1", round, started)
		}
	}
}

// testConsoleLinkRefs: a link names an existing credential, and its hash
// is unique.
func testConsoleLinkRefs(t *testing.T, s conncred.Store) {
	cs := consoleStore(t, s)
	ctx := t.Context()
	err := cs.CreateConsoleLink(ctx, console.Link{ID: newID(), TokenHash: randomHash(t), CredentialID: newID(), CreatedAt: at(0), ExpiresAt: at(time.Minute)})
	wantCode(t, err, conncred.ENotFound)
	cr := newCredential(t, s, nil)
	l := newConsoleLink(t, cs, cr.ID, at(0))
	err = cs.CreateConsoleLink(ctx, console.Link{ID: newID(), TokenHash: l.TokenHash, CredentialID: cr.ID, CreatedAt: at(0), ExpiresAt: at(time.Minute)})
	wantCode(t, err, conncred.EConflict)
}

// testConsoleTouchNeverBack: LastSeenAt moves forward only; an unknown
// session is ENotFound.
func testConsoleTouchNeverBack(t *testing.T, s conncred.Store) {
	cs := consoleStore(t, s)
	ctx := t.Context()
	sess := newConsoleSession(t, cs, newCredential(t, s, nil).ID, at(0))
	other := newConsoleSession(t, cs, newCredential(t, s, nil).ID, at(0))
	for _, step := range []struct{ touch, want time.Duration }{
		{5 * time.Minute, 5 * time.Minute},
		{2 * time.Minute, 5 * time.Minute},
		{5 * time.Minute, 5 * time.Minute},
		{6 * time.Minute, 6 * time.Minute},
	} {
		must(t, cs.TouchConsoleSession(ctx, sess.ID, at(step.touch)))
		if got := getConsoleSession(t, cs, sess.TokenHash).LastSeenAt; !got.Equal(at(step.want)) {
			t.Errorf("after a touch at +%s: LastSeenAt %s, want %s", step.touch, got, at(step.want))
		}
	}
	if got := getConsoleSession(t, cs, other.TokenHash).LastSeenAt; !got.Equal(at(0)) {
		t.Errorf("another session's LastSeenAt moved to %s", got)
	}
	wantCode(t, cs.TouchConsoleSession(ctx, newID(), at(time.Hour)), conncred.ENotFound)
}

// testConsoleEndKeepsFirst: the first end time stays; an unknown session
// is ENotFound.
func testConsoleEndKeepsFirst(t *testing.T, s conncred.Store) {
	cs := consoleStore(t, s)
	ctx := t.Context()
	sess := newConsoleSession(t, cs, newCredential(t, s, nil).ID, at(0))
	must(t, cs.EndConsoleSession(ctx, sess.ID, at(3*time.Minute)))
	must(t, cs.EndConsoleSession(ctx, sess.ID, at(4*time.Minute)))
	got := getConsoleSession(t, cs, sess.TokenHash)
	if want := at(3 * time.Minute); got.EndedAt == nil || !got.EndedAt.Equal(want) {
		t.Errorf("EndedAt %s, want the first end, %s", fmtTime(got.EndedAt), want)
	}
	wantCode(t, cs.EndConsoleSession(ctx, newID(), at(time.Hour)), conncred.ENotFound)
}

// testConsoleSweepBounded: a sweep deletes at most its limit, only links
// that expired or were used and sessions that expired or ended before its
// time (strictly), and repeated sweeps finish the job.
func testConsoleSweepBounded(t *testing.T, s conncred.Store) {
	cs := consoleStore(t, s)
	ctx := t.Context()
	cr := newCredential(t, s, nil).ID
	now := at(24 * time.Hour)
	for range 3 { // expired
		newConsoleLink(t, cs, cr, at(0))
	}
	used := newConsoleLink(t, cs, cr, now.Add(-time.Minute))
	_, err := cs.RedeemConsoleLink(ctx, used.TokenHash, now.Add(-time.Second), consoleSession(t, now.Add(-time.Second))) // used; its session lives
	must(t, err)
	live := newConsoleLink(t, cs, cr, now.Add(-time.Minute))
	edge := newConsoleLink(t, cs, cr, now.Add(-console.LinkLifetime)) // expires exactly at now: kept
	for range 2 {
		newConsoleSession(t, cs, cr, at(0)) // past its absolute expiry
	}
	ended := newConsoleSession(t, cs, cr, now.Add(-time.Hour))
	must(t, cs.EndConsoleSession(ctx, ended.ID, now.Add(-time.Minute)))
	endsNow := newConsoleSession(t, cs, cr, now.Add(-time.Hour))
	must(t, cs.EndConsoleSession(ctx, endsNow.ID, now))
	alive := newConsoleSession(t, cs, cr, now.Add(-time.Hour))

	// Links: 3 expired, 1 used, and the 5 that newConsoleSession redeemed
	// (used, or expired too). Sessions: 2 expired, 1 ended before now.
	const spent = 3 + 1 + 5 + 2 + 1
	total := 0
	for i := 0; ; i++ {
		n, err := cs.SweepConsole(ctx, now, 2)
		must(t, err)
		if n > 2 {
			t.Fatalf("sweep %d deleted %d, more than its limit of 2", i, n)
		}
		if n == 0 {
			break
		}
		total += n
		if i > 20 {
			t.Fatal("the sweep never finishes")
		}
	}
	if want := spent; total != want {
		t.Errorf("the sweeps deleted %d records, want %d", total, want)
	}
	for name, sess := range map[string]console.Session{"alive": alive, "ended at now": endsNow} {
		if _, err := cs.GetConsoleSession(ctx, sess.TokenHash); err != nil {
			t.Errorf("%s session: %v, want it kept", name, err)
		}
	}
	if _, err := cs.GetConsoleSession(ctx, ended.TokenHash); conncred.ErrorCode(err) != conncred.ENotFound {
		t.Errorf("ended session: %v, want it swept", err)
	}
	for name, l := range map[string]console.Link{"live": live, "expiring at now": edge} {
		if _, err := cs.RedeemConsoleLink(ctx, l.TokenHash, now.Add(-time.Microsecond), consoleSession(t, now)); err != nil {
			t.Errorf("%s link: %v, want it kept and redeemable", name, err)
		}
	}
	if n, err := cs.SweepConsole(ctx, now, 0); err != nil || n != 0 {
		t.Errorf("a sweep with limit 0 = %d, %v; want 0, nil", n, err)
	}
}
