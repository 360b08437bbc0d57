package dpop

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// Server-provided nonces (RFC 9449 §8, §9) let a server refuse proofs made
// ahead of time: a proof must carry a nonce the server handed out recently.
// conncred's nonce is stateless, so every node that shares the key agrees
// without a shared table: base64url of a time window's number followed by
// the first 16 bytes of HMAC-SHA-256(key, that number). A nonce is accepted
// in its own window and the next, so one handed out just before a window
// ends still works for one more window.

// nonceAt is the nonce of window n.
func nonceAt(key []byte, n int64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(n))
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("conncred dpop nonce\x00"))
	mac.Write(msg[:])
	out := append(msg[:], mac.Sum(nil)[:16]...)
	return base64.RawURLEncoding.EncodeToString(out)
}

func window(now time.Time, d time.Duration) int64 { return now.UnixNano() / int64(d) }

// nonce returns the current nonce.
func (v *Verifier) nonce(now time.Time) string {
	return nonceAt(v.cfg.NonceKey, window(now, v.cfg.NonceWindow))
}

// validNonce reports whether n is the current or the previous window's
// nonce, comparing in constant time.
func (v *Verifier) validNonce(n string, now time.Time) bool {
	w := window(now, v.cfg.NonceWindow)
	cur := hmac.Equal([]byte(n), []byte(nonceAt(v.cfg.NonceKey, w)))
	prev := hmac.Equal([]byte(n), []byte(nonceAt(v.cfg.NonceKey, w-1)))
	return cur || prev
}
