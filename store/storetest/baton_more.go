package storetest

import (
	"bytes"
	"sync"
	"testing"

	"github.com/conncred/conncred"
)

// batonMoreTests pin the baton.Store methods of migration 0006.
var batonMoreTests = []test{
	{"SharedKeyFirstWins", testBatonSharedKey},
}

// testBatonSharedKey: the first key stored under a name is the one every
// caller gets, also when several store it at once (nodes starting
// together), and names are independent.
func testBatonSharedKey(t *testing.T, s conncred.Store) {
	bs := batonStore(t, s)
	ctx := t.Context()
	const callers = 8
	got := make([][]byte, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := bs.SharedKey(ctx, "download", bytes.Repeat([]byte{byte(i + 1)}, 32), base)
			if err != nil {
				t.Errorf("SharedKey %d: %v", i, err)
			}
			got[i] = k
		}()
	}
	wg.Wait()
	for i := 1; i < callers; i++ {
		if !bytes.Equal(got[i], got[0]) || len(got[0]) != 32 {
			t.Fatalf("caller %d got %x, caller 0 got %x; want one 32-byte key for all", i, got[i], got[0])
		}
	}
	again, err := bs.SharedKey(ctx, "download", bytes.Repeat([]byte{0xee}, 32), base.Add(1))
	must(t, err)
	if !bytes.Equal(again, got[0]) {
		t.Errorf("a later candidate replaced the key: got %x, want %x", again, got[0])
	}
	other, err := bs.SharedKey(ctx, "other", bytes.Repeat([]byte{0xaa}, 32), base)
	must(t, err)
	if !bytes.Equal(other, bytes.Repeat([]byte{0xaa}, 32)) {
		t.Errorf("another name got %x, want its own candidate", other)
	}
}
