package ksuid

import (
	"testing"
	"time"
)

func TestNewIsValidAndIncreasing(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 17, 0, 0, 0, time.UTC)
	prev := ""
	for i := 0; i < 1000; i++ {
		// Same millisecond for most, then moving on, then a clock step back.
		now := t0.Add(time.Duration(i/100) * time.Millisecond)
		if i == 900 {
			now = t0
		}
		id := New(now)
		if !Valid(id) {
			t.Fatalf("New() = %q, not valid", id)
		}
		if id <= prev {
			t.Fatalf("id %d = %q, not greater than previous %q", i, id, prev)
		}
		prev = id
	}
}

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"2HErg7BRmNdHgX8sTCWVq4E1fyh", true},
		{"2HErg7BRmNdHgX8sTCWVq4E1fy", false},
		{"2HErg7BRmNdHgX8sTCWVq4E1fyh0", false},
		{"2HErg7BRmNdHgX8sTCWVq4E1fy-", false},
		{"../../../../etc/passwd00000", false},
		{"", false},
	} {
		if got := Valid(tc.in); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
