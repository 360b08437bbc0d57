package clock

import (
	"sync"
	"time"
)

// Fake is a clock that moves only when told to. Its tickers and timers fire
// when Set or Advance moves it to or past their time, in time order, each
// seeing Now equal to its own firing time; a ticker due several times in one
// move ticks each time, and like a real one drops a tick its reader has not
// taken yet. AfterFunc's function runs synchronously in the goroutine that
// moves the clock (after the clock's lock is released), so a test knows it
// has run when Advance returns. It is safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters map[*fakeWaiter]struct{}
	seq     uint64 // orders waiters due at the same instant by creation
}

// fakeWaiter is one pending ticker or timer.
type fakeWaiter struct {
	f      *Fake
	c      chan time.Time // nil for AfterFunc
	fn     func()
	period time.Duration // > 0 for a ticker
	when   time.Time
	seq    uint64
}

// NewFake returns a Fake set to t.
func NewFake(t time.Time) *Fake {
	return &Fake{now: t.UTC(), waiters: map[*fakeWaiter]struct{}{}}
}

// Now returns the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// Set moves the clock to t, firing what falls due on the way. A t before
// the current time moves the clock back and fires nothing.
func (f *Fake) Set(t time.Time) {
	t = t.UTC()
	for {
		f.mu.Lock()
		w := f.next(t)
		if w == nil {
			f.now = t
			f.mu.Unlock()
			return
		}
		f.now = w.when
		fn := f.fire(w)
		f.mu.Unlock()
		if fn != nil {
			fn()
		}
	}
}

// Advance moves the clock forward by d, firing what falls due on the way.
func (f *Fake) Advance(d time.Duration) {
	f.Set(f.Now().Add(d))
}

// Waiters returns how many tickers and timers are pending, so a test can
// check that a loop made (or stopped) its tickers.
func (f *Fake) Waiters() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.waiters)
}

// Next returns when the earliest pending ticker or timer is due, and false
// if none is pending, so a test can check how long code chose to wait.
func (f *Fake) Next() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var first time.Time
	for w := range f.waiters {
		if first.IsZero() || w.when.Before(first) {
			first = w.when
		}
	}
	return first, !first.IsZero()
}

// next returns the earliest waiter due at or before t, or nil.
func (f *Fake) next(t time.Time) *fakeWaiter {
	var first *fakeWaiter
	for w := range f.waiters {
		if w.when.After(t) {
			continue
		}
		if first == nil || w.when.Before(first.when) || (w.when.Equal(first.when) && w.seq < first.seq) {
			first = w
		}
	}
	return first
}

// fire delivers w's tick (dropping it if the last is still unread, as
// time.Ticker does) and reschedules or removes it. It returns the function
// to run for an AfterFunc timer. f.mu is held.
func (f *Fake) fire(w *fakeWaiter) func() {
	if w.c != nil {
		select {
		case w.c <- w.when:
		default:
		}
	}
	if w.period > 0 {
		w.when = w.when.Add(w.period)
		return nil
	}
	delete(f.waiters, w)
	return w.fn
}

func (f *Fake) add(d time.Duration, c chan time.Time, fn func(), period time.Duration) *fakeWaiter {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	w := &fakeWaiter{f: f, c: c, fn: fn, period: period, when: f.now.Add(d), seq: f.seq}
	f.waiters[w] = struct{}{}
	return w
}

// NewTicker returns a ticker that ticks every d of fake time. It panics if
// d <= 0, as time.NewTicker does.
func (f *Fake) NewTicker(d time.Duration) Ticker {
	if d <= 0 {
		panic("clock: non-positive interval for NewTicker")
	}
	return &fakeTicker{f.add(d, make(chan time.Time, 1), nil, d)}
}

// NewTimer returns a timer that fires once d of fake time has passed.
func (f *Fake) NewTimer(d time.Duration) Timer {
	return &fakeTimer{f.add(d, make(chan time.Time, 1), nil, 0)}
}

// AfterFunc returns a timer that calls fn once d of fake time has passed.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	return &fakeTimer{f.add(d, nil, fn, 0)}
}

// stop removes w and reports whether it was pending.
func (w *fakeWaiter) stop() bool {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	_, ok := w.f.waiters[w]
	delete(w.f.waiters, w)
	return ok
}

// reset reschedules w d from now and reports whether it was pending.
func (w *fakeWaiter) reset(d time.Duration) bool {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	_, ok := w.f.waiters[w]
	w.f.seq++
	w.when, w.seq = w.f.now.Add(d), w.f.seq
	w.f.waiters[w] = struct{}{}
	return ok
}

type fakeTicker struct{ w *fakeWaiter }

func (t *fakeTicker) Chan() <-chan time.Time { return t.w.c }
func (t *fakeTicker) Stop()                  { t.w.stop() }

// Reset stops the ticker and makes it tick every d from now.
func (t *fakeTicker) Reset(d time.Duration) {
	if d <= 0 {
		panic("clock: non-positive interval for Ticker.Reset")
	}
	t.w.f.mu.Lock()
	t.w.period = d
	t.w.f.mu.Unlock()
	t.w.reset(d)
}

type fakeTimer struct{ w *fakeWaiter }

func (t *fakeTimer) Chan() <-chan time.Time     { return t.w.c }
func (t *fakeTimer) Stop() bool                 { return t.w.stop() }
func (t *fakeTimer) Reset(d time.Duration) bool { return t.w.reset(d) }
