// Package prefix turns "starts with p" into a range of strings, p ≤ s <
// End(p), so that a store can answer a prefix match from an ordinary
// B-tree index with two comparisons instead of a LIKE pattern, whose
// wildcards need escaping and whose index use depends on the collation and
// on the planner seeing the pattern's value.
package prefix

import "unicode/utf8"

// End returns the least string above every string that starts with p,
// comparing bytes (as SQLite's BINARY and PostgreSQL's "C" collation do),
// and false when there is none (p is empty or only U+10FFFF). p must be
// valid UTF-8; so is the result. Valid UTF-8 sorts bytewise in code point
// order, so the strings in [p, End(p)) are exactly those that start with p.
func End(p string) (string, bool) {
	for p != "" {
		r, size := utf8.DecodeLastRuneInString(p)
		p = p[:len(p)-size]
		if r == utf8.MaxRune {
			continue // no next rune here: carry to the one before
		}
		r++
		if r >= 0xD800 && r <= 0xDFFF { // surrogates are not runes
			r = 0xE000
		}
		return p + string(r), true
	}
	return "", false
}
