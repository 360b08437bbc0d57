package apitype

import (
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/conncred/conncred"
)

// Limits on request fields. They keep stored rows and log lines bounded; real
// clients send far less.
const (
	MaxNameLen        = 200
	MaxDescriptionLen = 2000
	MaxIDLen          = 64
	MaxUserIDs        = 100
)

// Error is the body of every non-200 API response: google.rpc.Status as the
// REST gateway writes it.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details"`
}

// Empty is the body of a success that returns nothing.
type Empty struct{}

// FieldMask is a protobuf FieldMask. The REST gateway writes it as one
// comma-separated string; the object form {"paths": [...]} is accepted too.
// Paths are kept in lowerCamelCase; snake_case paths are converted.
type FieldMask []string

// Has reports whether the mask names path. An empty mask names every field
// that the request sets, as the gateway treats it.
func (m FieldMask) Has(path string) bool {
	if len(m) == 0 {
		return true
	}
	for _, p := range m {
		if p == path {
			return true
		}
	}
	return false
}

// UnmarshalJSON accepts "a,b", {"paths":["a","b"]} and null.
func (m *FieldMask) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*m = splitMask(strings.Split(s, ","))
		return nil
	}
	var obj struct {
		Paths []string `json:"paths"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return conncred.Errorf(conncred.EInvalid, "updateMask must be a comma-separated string of field names")
	}
	*m = splitMask(obj.Paths)
	return nil
}

// MarshalJSON writes the gateway's string form.
func (m FieldMask) MarshalJSON() ([]byte, error) {
	return json.Marshal(strings.Join(m, ","))
}

func splitMask(parts []string) FieldMask {
	var out FieldMask
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p != "" {
			out = append(out, SnakeToCamel(p))
		}
	}
	return out
}

// Duration is a protobuf Duration on the wire ("2592000s"); any Go duration
// string ("720h", "1h30m") is accepted too.
type Duration time.Duration

// UnmarshalJSON parses a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return conncred.Errorf(conncred.EInvalid, "a duration must be a string such as \"720h\" or \"2592000s\"")
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return conncred.Errorf(conncred.EInvalid, "%q is not a duration; use a form such as \"720h\" or \"2592000s\"", truncate(s))
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the protobuf form, whole seconds with an "s".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// SnakeToCamel turns "display_name" into "displayName"; other names are
// returned unchanged.
func SnakeToCamel(s string) string {
	if !strings.Contains(s, "_") {
		return s
	}
	var b strings.Builder
	up := false
	for _, r := range s {
		if r == '_' {
			up = true
			continue
		}
		if up && r >= 'a' && r <= 'z' {
			r -= 'a' - 'A'
		}
		up = false
		b.WriteRune(r)
	}
	return b.String()
}

func checkName(field, v string, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return conncred.Errorf(conncred.EInvalid, "%s is required", field)
	}
	return checkText(field, v, MaxNameLen)
}

func checkText(field, v string, max int) error {
	if !utf8.ValidString(v) {
		return conncred.Errorf(conncred.EInvalid, "%s is not valid UTF-8", field)
	}
	if len(v) > max {
		return conncred.Errorf(conncred.EInvalid, "%s is too long (%d bytes; at most %d)", field, len(v), max)
	}
	for _, r := range v {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return conncred.Errorf(conncred.EInvalid, "%s contains a control character", field)
		}
	}
	return nil
}

func checkUserIDs(ids []string) error {
	if len(ids) > MaxUserIDs {
		return conncred.Errorf(conncred.EInvalid, "userIds has %d entries; at most %d", len(ids), MaxUserIDs)
	}
	for _, id := range ids {
		if err := checkName("userIds[]", id, true); err != nil {
			return err
		}
	}
	return nil
}

// truncate shortens caller-supplied text quoted back in an error message.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// Validate accepts any body: Empty is the request of calls that take none.
func (Empty) Validate() error { return nil }
