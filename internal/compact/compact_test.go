package compact

import (
	"testing"
	"time"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		in      string
		h, p, s string
		ok      bool
	}{
		{"a.b.c", "a", "b", "c", true},
		{"a..c", "a", "", "c", true},
		{"a.b", "", "", "", false},
		{"a.b.c.d", "", "", "", false},
		{"", "", "", "", false},
	} {
		h, p, s, ok := Split(tc.in)
		if h != tc.h || p != tc.p || s != tc.s || ok != tc.ok {
			t.Errorf("Split(%q) = %q %q %q %v, want %q %q %q %v", tc.in, h, p, s, ok, tc.h, tc.p, tc.s, tc.ok)
		}
	}
}

func TestNumericDate(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want time.Time
		kind string
		ok   bool
	}{
		{"1700000000", time.Unix(1700000000, 0).UTC(), "", true},
		{"1700000000.5", time.Unix(1700000000, 5e8).UTC(), "", true},
		{"0", time.Unix(0, 0).UTC(), "", true},
		{"-1", time.Time{}, "", false},
		{"99999999999", time.Unix(99999999999, 0).UTC(), "", true},
		{"100000000000", time.Time{}, "", false},
		{"1e400", time.Time{}, "", false},
		{`"1700000000"`, time.Time{}, "a string", false},
		{"true", time.Time{}, "a boolean", false},
		{"null", time.Time{}, "null", false},
		{`{"v":1}`, time.Time{}, "an object", false},
		{"[1]", time.Time{}, "an array", false},
	} {
		got, kind, ok := NumericDate([]byte(tc.raw))
		if !got.Equal(tc.want) || kind != tc.kind || ok != tc.ok {
			t.Errorf("NumericDate(%s) = %v %q %v, want %v %q %v", tc.raw, got, kind, ok, tc.want, tc.kind, tc.ok)
		}
	}
}
