// Package compact holds the pieces of reading a compact JWS and its JWT
// claims that conncred's two readers share: the client assertion and access
// token reader (package authority) and the DPoP proof reader (package
// dpop). Each reader keeps its own rules and messages; these are the parts
// where one spelling of the standard must serve both.
package compact

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
)

// B64 is strict unpadded base64url: non-canonical encodings (set trailing
// bits) are refused, so one token, or one key, has exactly one spelling.
var B64 = base64.RawURLEncoding.Strict()

// Split cuts a compact JWS into its three base64url parts. ok is false
// unless there are exactly three.
func Split(token string) (header, payload, sig string, ok bool) {
	header, rest, ok1 := strings.Cut(token, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.Contains(sig, ".") {
		return "", "", "", false
	}
	return header, payload, sig, true
}

// MaxNumericDate bounds the NumericDates conncred reads: year 5138, far
// past any window it accepts, and small enough that converting one to a
// time.Time cannot overflow.
const MaxNumericDate = 1e11

// NumericDate reads a JWT NumericDate (RFC 7519 §2: a JSON number of
// seconds since the epoch, possibly fractional) from raw, one valid JSON
// value as a decoder captured it. kind is empty when raw is a JSON number
// and otherwise names what it is ("a string", "null", ...); ok is true only
// for a number in [0, MaxNumericDate).
func NumericDate(raw []byte) (t time.Time, kind string, ok bool) {
	if len(raw) == 0 {
		return time.Time{}, "nothing", false
	}
	// raw is one valid JSON value, so it is a number exactly when it starts
	// like one.
	if c := raw[0]; c != '-' && (c < '0' || c > '9') {
		return time.Time{}, Kind(c), false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || f < 0 || f >= MaxNumericDate {
		return time.Time{}, "", false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), "", true
}

// Kind names the kind of the JSON value that starts with c.
func Kind(c byte) string {
	switch c {
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	return "that value"
}
