package prefix

import (
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEnd(t *testing.T) {
	for _, tc := range []struct {
		p, want string
		ok      bool
	}{
		{"", "", false},
		{"a", "b", true},
		{"brave-falcon", "brave-falcoo", true},
		{"10.1.", "10.1/", true},
		{"\x7f", "\u0080", true},
		{"é", "ê", true},
		{"a\uD7FF", "a\uE000", true},
		{"a\U0010FFFF", "b", true},
		{"\U0010FFFF\U0010FFFF", "", false},
	} {
		got, ok := End(tc.p)
		if got != tc.want || ok != tc.ok {
			t.Errorf("End(%q) = %q, %v; want %q, %v", tc.p, got, ok, tc.want, tc.ok)
		}
		if ok && !utf8.ValidString(got) {
			t.Errorf("End(%q) = %q is not valid UTF-8", tc.p, got)
		}
	}
}

// TestEndSelectsThePrefix sorts strings bytewise and checks that the range
// [p, End(p)) holds exactly the ones that start with p.
func TestEndSelectsThePrefix(t *testing.T) {
	words := []string{"", "a", "ab", "abc", "abd", "ac", "a\u007f", "a\u0080x", "aé", "aê", "b", "system", "system-x", "systen",
		"[::1]:53211", "::1", "10.1.2.3:443", "10.10.0.1", "10.1", "\U0010FFFF", "a\U0010FFFF", "a\U0010FFFFz"}
	sort.Strings(words)
	for _, p := range words {
		end, ok := End(p)
		for _, w := range words {
			in := w >= p && (!ok || w < end)
			if want := strings.HasPrefix(w, p); in != want {
				t.Errorf("prefix %q, end %q (%v): %q in range %v, starts with it %v", p, end, ok, w, in, want)
			}
		}
	}
}
