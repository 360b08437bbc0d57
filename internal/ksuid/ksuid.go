// Package ksuid makes record ids in ConductorOne's format: 27 base62
// characters. The 160 bits are a 48-bit millisecond timestamp followed by 112
// random bits, so ids sort by creation time; within one process and one
// millisecond the random part is incremented, so ids made by one node are
// strictly increasing and a list ordered by id is in creation order.
package ksuid

import (
	"crypto/rand"
	"math/big"
	"sync"
	"time"
)

// Len is the length of an id.
const Len = 27

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

var (
	mu     sync.Mutex
	lastMS int64
	last   [20]byte
)

// New returns a new id for time t.
func New(t time.Time) string {
	ms := t.UnixMilli()
	if ms < 0 {
		ms = 0
	}
	mu.Lock()
	var b [20]byte
	if ms <= lastMS {
		// Same (or an earlier, if the clock stepped back) millisecond: keep
		// the previous timestamp and add one to its random part, so ids stay
		// strictly increasing.
		b = last
		for i := len(b) - 1; i >= 6; i-- {
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	} else {
		lastMS = ms
		b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
		if _, err := rand.Read(b[6:]); err != nil {
			panic("ksuid: crypto/rand failed: " + err.Error())
		}
		// Leave headroom so that increments within a millisecond cannot
		// carry into the timestamp.
		b[6] &= 0x7f
	}
	last = b
	mu.Unlock()
	return encode(b)
}

func encode(b [20]byte) string {
	n := new(big.Int).SetBytes(b[:])
	base := big.NewInt(62)
	mod := new(big.Int)
	var out [Len]byte
	for i := Len - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = alphabet[mod.Int64()]
	}
	return string(out[:])
}

// Valid reports whether s has the form of an id: exactly 27 base62
// characters. It says nothing about whether a record has it.
func Valid(s string) bool {
	if len(s) != Len {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
