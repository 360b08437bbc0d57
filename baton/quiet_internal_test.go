package baton

import (
	"strconv"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// TestQuietMarkRace: a poll's read may race a write; the write's drop can
// land between the read and the mark, and then the mark must not be set,
// or it would hide the written task until it expires.
func TestQuietMarkRace(t *testing.T) {
	var q quietMarks
	q.enable(true)

	epoch, ok := q.begin()
	if !ok {
		t.Fatal("enabled marks: begin says no mark may be left")
	}
	q.forget("c1") // a write for c1 lands during the poll's read
	q.mark("c1", t0.Add(time.Minute), epoch)
	if q.holds("c1", t0) {
		t.Error("a mark set after a drop that raced its read holds; want it refused")
	}
	// A drop of another connector refuses it too: the epoch is shared,
	// which costs a store read, never a hidden task.
	epoch, _ = q.begin()
	q.forget("c2")
	q.mark("c1", t0.Add(time.Minute), epoch)
	if q.holds("c1", t0) {
		t.Error("a mark raced by another connector's drop holds; want it refused")
	}

	// Without a race it holds until its time, and a drop ends it.
	epoch, _ = q.begin()
	q.mark("c1", t0.Add(time.Minute), epoch)
	if !q.holds("c1", t0) || !q.holds("c1", t0.Add(time.Minute-time.Microsecond)) {
		t.Error("a mark does not hold before its time")
	}
	if q.holds("c1", t0.Add(time.Minute)) {
		t.Error("a mark holds at its time; want it over")
	}
	if q.holds("c2", t0) {
		t.Error("c1's mark holds for c2")
	}
	q.forget("c1")
	if q.holds("c1", t0) {
		t.Error("a mark holds after its connector's drop")
	}

	// Dropping all ends every mark.
	epoch, _ = q.begin()
	q.mark("c1", t0.Add(time.Minute), epoch)
	q.mark("c2", t0.Add(time.Minute), epoch)
	q.forget("")
	if q.holds("c1", t0) || q.holds("c2", t0) {
		t.Error("marks hold after forget(\"\")")
	}
}

// TestQuietMarksNeedTheListener: on a shared store marks are off until
// the watcher listens; losing it drops them, and a poll that began while
// it listened cannot leave a mark once it stopped.
func TestQuietMarksNeedTheListener(t *testing.T) {
	var q quietMarks // off, as for a shared store before Run
	epoch, ok := q.begin()
	if ok {
		t.Fatal("begin with marks off says a mark may be left")
	}
	q.mark("c1", t0.Add(time.Minute), epoch)
	if q.holds("c1", t0) {
		t.Fatal("a mark holds while marks are off")
	}
	q.enable(true)
	epoch, _ = q.begin()
	q.mark("c1", t0.Add(time.Minute), epoch)
	if !q.holds("c1", t0) {
		t.Fatal("a mark does not hold while listening")
	}
	begun, _ := q.begin() // a poll starts reading
	q.enable(false)       // the listener is lost
	if q.holds("c1", t0) {
		t.Error("a mark holds after the listener was lost")
	}
	q.enable(true) // and back, before the poll ends
	q.mark("c2", t0.Add(time.Minute), begun)
	if q.holds("c2", t0) {
		t.Error("a poll that began before the listener was lost left a mark; notices may have been missed during its read")
	}
}

// TestQuietMarksBounded: past maxQuietMarks the marks start over, so a
// flood of connectors cannot grow a node's memory without end.
func TestQuietMarksBounded(t *testing.T) {
	var q quietMarks
	q.enable(true)
	epoch, _ := q.begin()
	for i := range maxQuietMarks {
		q.mark(strconv.Itoa(i), t0.Add(time.Minute), epoch)
	}
	if len(q.until) != maxQuietMarks {
		t.Fatalf("marks: %d, want %d", len(q.until), maxQuietMarks)
	}
	q.mark("one more", t0.Add(time.Minute), epoch)
	if len(q.until) != 1 || !q.holds("one more", t0) {
		t.Errorf("after the bound: %d marks, want only the new one", len(q.until))
	}
}

func TestQuietUntil(t *testing.T) {
	ttl := time.Minute
	for _, tc := range []struct {
		name       string
		next, want time.Time
	}{
		{"nothing pending: the TTL", time.Time{}, t0.Add(ttl)},
		{"a retry due sooner: its NotBefore", t0.Add(30 * time.Second), t0.Add(30 * time.Second)},
		{"a retry due later: the TTL", t0.Add(time.Hour), t0.Add(ttl)},
		{"unknown (next = now): no mark", t0, time.Time{}},
		{"next in the past: no mark", t0.Add(-time.Second), time.Time{}},
	} {
		if got := quietUntil(t0, tc.next, ttl); !got.Equal(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}
