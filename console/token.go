package console

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"

	"github.com/conncred/conncred"
)

// tokenBytes is the randomness of a login token and of a session cookie
// value: 256 bits, beyond guessing however many requests are made.
const tokenBytes = 32

// tokenLen is the length of such a value in unpadded base64url.
var tokenLen = base64.RawURLEncoding.EncodedLen(tokenBytes)

// newToken returns a fresh random value and the hash the store keeps.
func newToken() (string, []byte, error) {
	var b [tokenBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", nil, conncred.WrapError(conncred.EInternal, err, "could not make a random token")
	}
	t := base64.RawURLEncoding.EncodeToString(b[:])
	h := sha256.Sum256([]byte(t))
	return t, h[:], nil
}

// tokenHash returns the stored hash of t, and false when t is not a value
// newToken could have made: such a value is refused without a look-up.
// SHA-256 without a salt is enough for values of 256 random bits, and it
// lets the store find the record by an index on the hash.
func tokenHash(t string) ([]byte, bool) {
	if len(t) != tokenLen {
		return nil, false
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(t); err != nil {
		return nil, false
	}
	h := sha256.Sum256([]byte(t))
	return h[:], true
}
