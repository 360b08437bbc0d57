// Package clock lets time be injected, so that expiry, replay windows,
// captured interop vectors and background loops are tested at exact instants
// without sleeping. Besides telling the time, a Clock makes the tickers and
// timers of the code that uses it (as tailscale's tstime does), so advancing
// a Fake fires them.
package clock

import (
	"time"
)

// Clock tells the time and makes tickers and timers that follow it.
type Clock interface {
	Now() time.Time
	// NewTicker is time.NewTicker on this clock.
	NewTicker(d time.Duration) Ticker
	// NewTimer is time.NewTimer on this clock.
	NewTimer(d time.Duration) Timer
	// AfterFunc is time.AfterFunc on this clock; the Timer's Chan is nil.
	AfterFunc(d time.Duration, f func()) Timer
}

// Ticker is the part of *time.Ticker its users need, as an interface so a
// Fake can provide one.
type Ticker interface {
	// Chan returns the channel the ticks are delivered on.
	Chan() <-chan time.Time
	Stop()
	Reset(d time.Duration)
}

// Timer is the part of *time.Timer its users need.
type Timer interface {
	// Chan returns the channel the time is delivered on (nil for a timer
	// made by AfterFunc).
	Chan() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// Real is the system clock.
type Real struct{}

// Now returns the current time in UTC.
func (Real) Now() time.Time { return time.Now().UTC() }

// NewTicker returns a time.Ticker.
func (Real) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

// NewTimer returns a time.Timer.
func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

// AfterFunc returns a time.Timer that calls f.
func (Real) AfterFunc(d time.Duration, f func()) Timer { return realTimer{time.AfterFunc(d, f)} }

type realTicker struct{ *time.Ticker }

func (t realTicker) Chan() <-chan time.Time { return t.C }

type realTimer struct{ *time.Timer }

func (t realTimer) Chan() <-chan time.Time { return t.C }
