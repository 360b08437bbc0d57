package conncred

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestSeedNeverShows: a signing key's seed stays out of fmt, slog and JSON,
// alone or inside its SigningKey, whatever the verb.
func TestSeedNeverShows(t *testing.T) {
	seed := Seed(bytes.Repeat([]byte{0xAB}, 32))
	k := SigningKey{ID: "kid-1", Seed: seed, CreatedAt: time.Unix(0, 0)}
	// Every way the bytes could appear in text.
	leaks := []string{"ab ab", "abab", "ABAB", "171", "\\xab", "q6ur", "q6ur", string(seed)}
	check := func(t *testing.T, out string) {
		t.Helper()
		for _, l := range leaks {
			if strings.Contains(out, l) {
				t.Fatalf("output shows the seed (%q): %s", l, out)
			}
		}
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "% x", "%q", "%d"} {
		for name, v := range map[string]any{"seed": seed, "key": k, "pointer": &k, "slice": []SigningKey{k}} {
			t.Run(verb+" "+name, func(t *testing.T) {
				out := fmt.Sprintf(verb, v)
				check(t, out)
				if !strings.Contains(out, "REDACTED") {
					t.Errorf("got %q, want it to say REDACTED", out)
				}
			})
		}
	}
	// Without the time, whose digits could spell "171" by chance.
	noTime := &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey && len(groups) == 0 {
			return slog.Attr{}
		}
		return a
	}}
	for name, h := range map[string]func(*bytes.Buffer) slog.Handler{
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, noTime) },
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, noTime) },
	} {
		t.Run("slog "+name, func(t *testing.T) {
			var buf bytes.Buffer
			slog.New(h(&buf)).Info("key", "seed", seed, "key", k, "pointer", &k)
			check(t, buf.String())
			if !strings.Contains(buf.String(), "REDACTED") {
				t.Errorf("got %s, want the seed shown as REDACTED", buf.String())
			}
		})
	}
	for name, v := range map[string]any{"seed": seed, "key": k, "pointer": &k} {
		t.Run("json "+name, func(t *testing.T) {
			b, err := json.Marshal(v)
			if err == nil {
				t.Fatalf("json.Marshal: got %s, want an error", b)
			}
			check(t, string(b))
		})
	}
	// The bytes are still there for the code that needs them.
	if got := []byte(k.Seed); !bytes.Equal(got, bytes.Repeat([]byte{0xAB}, 32)) {
		t.Errorf("[]byte(k.Seed): got %d bytes, want the seed", len(got))
	}
}
