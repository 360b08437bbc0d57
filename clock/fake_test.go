package clock

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// ticks drains c without blocking and returns what it held.
func ticks(c <-chan time.Time) []time.Time {
	var got []time.Time
	for {
		select {
		case t := <-c:
			got = append(got, t)
		default:
			return got
		}
	}
}

func TestFakeTicker(t *testing.T) {
	f := NewFake(t0)
	tk := f.NewTicker(time.Second)
	tests := []struct {
		name    string
		advance time.Duration
		want    []time.Time
	}{
		{"before the first tick", 999 * time.Millisecond, nil},
		{"at the first tick", time.Millisecond, []time.Time{t0.Add(time.Second)}},
		{"between ticks", 500 * time.Millisecond, nil},
		// Three ticks fall due in one move; like time.Ticker the channel
		// holds one and drops the others while unread.
		{"several due at once", 3 * time.Second, []time.Time{t0.Add(2 * time.Second)}},
		{"on schedule after the burst", 500 * time.Millisecond, []time.Time{t0.Add(5 * time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.Advance(tt.advance)
			got := ticks(tk.Chan())
			if len(got) != len(tt.want) {
				t.Fatalf("got ticks %v, want %v", got, tt.want)
			}
			for i := range got {
				if !got[i].Equal(tt.want[i]) {
					t.Errorf("tick %d: got %v, want %v", i, got[i], tt.want[i])
				}
			}
		})
	}
	tk.Stop()
	if got := f.Waiters(); got != 0 {
		t.Errorf("waiters after Stop: got %d, want 0", got)
	}
	f.Advance(time.Hour)
	if got := ticks(tk.Chan()); len(got) != 0 {
		t.Errorf("stopped ticker ticked: %v", got)
	}
}

func TestFakeTickerReset(t *testing.T) {
	f := NewFake(t0)
	tk := f.NewTicker(time.Second)
	f.Advance(500 * time.Millisecond)
	tk.Reset(time.Minute)
	f.Advance(59 * time.Second)
	if got := ticks(tk.Chan()); len(got) != 0 {
		t.Fatalf("got ticks %v before the reset period, want none", got)
	}
	f.Advance(time.Second)
	if got, want := ticks(tk.Chan()), t0.Add(500*time.Millisecond+time.Minute); len(got) != 1 || !got[0].Equal(want) {
		t.Fatalf("got ticks %v, want [%v]", got, want)
	}
}

func TestFakeTimer(t *testing.T) {
	f := NewFake(t0)
	tm := f.NewTimer(time.Minute)
	f.Advance(time.Minute - 1)
	if got := ticks(tm.Chan()); len(got) != 0 {
		t.Fatalf("fired early: %v", got)
	}
	f.Advance(1)
	if got := ticks(tm.Chan()); len(got) != 1 || !got[0].Equal(t0.Add(time.Minute)) {
		t.Fatalf("got %v, want one fire at %v", got, t0.Add(time.Minute))
	}
	if tm.Stop() {
		t.Error("Stop of a fired timer: got true, want false")
	}
	if tm.Reset(time.Second) {
		t.Error("Reset of a fired timer: got true, want false")
	}
	if !tm.Stop() {
		t.Error("Stop of a pending timer: got false, want true")
	}
	f.Advance(time.Hour)
	if got := ticks(tm.Chan()); len(got) != 0 {
		t.Errorf("stopped timer fired: %v", got)
	}
}

func TestFakeAfterFunc(t *testing.T) {
	f := NewFake(t0)
	var order []string
	var seen []time.Time
	f.AfterFunc(2*time.Second, func() { order = append(order, "b"); seen = append(seen, f.Now()) })
	f.AfterFunc(time.Second, func() { order = append(order, "a"); seen = append(seen, f.Now()) })
	stopped := f.AfterFunc(time.Second, func() { order = append(order, "stopped") })
	stopped.Stop()
	f.Advance(time.Hour) // functions run before Advance returns
	if got, want := len(order), 2; got != want {
		t.Fatalf("calls: got %v, want [a b]", order)
	}
	if order[0] != "a" || order[1] != "b" {
		t.Errorf("order: got %v, want [a b]", order)
	}
	// Each function sees the clock at its own time, not the target.
	if !seen[0].Equal(t0.Add(time.Second)) || !seen[1].Equal(t0.Add(2*time.Second)) {
		t.Errorf("Now inside the functions: got %v, want %v and %v", seen, t0.Add(time.Second), t0.Add(2*time.Second))
	}
	if got, want := f.Now(), t0.Add(time.Hour); !got.Equal(want) {
		t.Errorf("Now after Advance: got %v, want %v", got, want)
	}
}

func TestRealClock(t *testing.T) {
	var c Clock = Real{}
	tm := c.NewTimer(time.Millisecond)
	<-tm.Chan()
	tk := c.NewTicker(time.Millisecond)
	<-tk.Chan()
	tk.Stop()
	done := make(chan struct{})
	c.AfterFunc(time.Millisecond, func() { close(done) })
	<-done
	if c.Now().Location() != time.UTC {
		t.Error("Real.Now is not UTC")
	}
}

func TestFakeNext(t *testing.T) {
	f := NewFake(t0)
	if _, ok := f.Next(); ok {
		t.Fatal("Next with nothing pending: got ok, want none")
	}
	f.NewTimer(time.Hour)
	tk := f.NewTicker(time.Minute)
	if got, ok := f.Next(); !ok || !got.Equal(t0.Add(time.Minute)) {
		t.Fatalf("Next: got %v %v, want %v", got, ok, t0.Add(time.Minute))
	}
	tk.Stop()
	if got, ok := f.Next(); !ok || !got.Equal(t0.Add(time.Hour)) {
		t.Fatalf("Next after Stop: got %v %v, want %v", got, ok, t0.Add(time.Hour))
	}
}
