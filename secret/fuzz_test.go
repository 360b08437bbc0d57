package secret

import (
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add("secret-token:conductorone.com:v1:eyJrdHkiOiJPS1AiLCJjcnYiOiJFZDI1NTE5IiwieCI6ImJ1ZUp6dmZoRFRMUVh4UkhrV2tVaGpxcUl5dnVmSXdza1E5SGlMSkhCOUUiLCJkIjoiS1dwQVJYQ3AwbU9lOHJhcDl0Z3VBa0w2NjdPeDYtUGtRakQ5alhtLVVuZyJ9")
	f.Add("secret-token:conncred:v1:e30")
	f.Add("secret-token:conncred:v2:")
	f.Add(":::")
	f.Fuzz(func(t *testing.T, in string) {
		priv, err := Parse(in)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// Whatever parses must survive a round trip.
		s, err := Encode(priv)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse(s.Reveal())
		if err != nil || !again.Equal(priv) {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}

func FuzzParseClientID(f *testing.F) {
	f.Add("brave-falcon-40213@127.0.0.1:8443/ccc")
	f.Add("a@b/c/d")
	f.Add("@/")
	f.Fuzz(func(t *testing.T, in string) {
		id, err := ParseClientID(in)
		if err != nil {
			if !errors.Is(err, ErrBadClientID) {
				t.Fatalf("error %v does not wrap ErrBadClientID", err)
			}
			return
		}
		if id.String() != in {
			t.Fatalf("round trip: %q -> %+v -> %q", in, id, id.String())
		}
	})
}
