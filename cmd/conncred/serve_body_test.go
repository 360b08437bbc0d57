package main

import (
	"bytes"
	"testing"
)

// TestMaxBodyBytesInFlightFlag checks the in-flight body budget's flag: its
// default, its environment variable, and that the flag wins.
func TestMaxBodyBytesInFlightFlag(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  string
		args []string
		want int64
	}{
		{"default", "", nil, 64 << 20},
		{"environment", "1048576", nil, 1 << 20},
		{"flag wins", "1048576", []string{"--max-body-bytes-in-flight", "-1"}, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("CONNCRED_MAX_BODY_BYTES_IN_FLIGHT", tc.env)
			}
			var cfg serveConfig
			fs := newFlagSet("serve", "", &bytes.Buffer{})
			cfg.flags(fs)
			if err := parse(fs, tc.args); err != nil {
				t.Fatal(err)
			}
			if got, want := cfg.MaxBodyBytesInFlight, tc.want; got != want {
				t.Fatalf("MaxBodyBytesInFlight = %d, want %d", got, want)
			}
		})
	}
}
