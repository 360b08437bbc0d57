package server

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/conncred/conncred/apitype"
	"github.com/conncred/conncred/authority"
)

// manyKeys is the outside probe's body: a JSON object of n members, just
// under 1 MiB for n = 60,000.
func manyKeys(n int) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"key%07d":1`, i)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// heapSampler records the peak of the live heap objects (runtime/metrics)
// until stopped.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(h.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) finish() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load()
}

// TestFloodOfLargeBodies is the outside probe's scenario over loopback: 64
// callers at once send ~1 MiB bodies of 60,000 keys to rotate and revoke
// with a connector token. Each must get 403, and the heap must stay
// bounded (the reader that parsed before authorizing took the server to
// 1-2 GB). An admin's API calls meanwhile are timed and their median
// reported, not asserted. The same flood sent with an admin token, whose
// bodies are read, must stay bounded too, by the in-flight byte budget.
func TestFloodOfLargeBodies(t *testing.T) {
	if testing.Short() {
		t.Skip("sends 256 MiB over loopback")
	}
	const (
		callers = 64
		// An admin's bodies are read and decoded, 60,000 keys each; 16 at
		// once still fill a quarter of the in-flight budget, and keep the
		// run within minutes under the race detector on two busy cores.
		adminCallers = 16
		heapBound    = 256 << 20
	)
	e := newEnv(t, Config{}, authority.Config{})
	appID, connID := e.setup()
	credID, clientID, sec := e.rotate(appID, connID)
	connector := e.token(clientID, sec)
	body := manyKeys(60000)
	if len(body) > 1<<20 {
		t.Fatalf("probe body is %d bytes, over the 1 MiB limit", len(body))
	}
	creds := e.srv.URL + "/api/v1/apps/" + appID + "/connectors/" + connID + "/credentials"
	targets := []string{creds + "/" + credID, e.srv.URL + "/api/v1/apps/connectors/credentials"}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: callers}, Timeout: 3 * time.Minute}
	t.Cleanup(client.CloseIdleConnections)

	flood := func(t *testing.T, bearer string, callers, perCaller, want int) {
		runtime.GC()
		heap := sampleHeap()
		var wg sync.WaitGroup
		var statuses sync.Map // status -> *atomic.Int64
		count := func(k any) {
			v, _ := statuses.LoadOrStore(k, new(atomic.Int64))
			v.(*atomic.Int64).Add(1)
		}
		stopAdmin := make(chan struct{})
		var lat []time.Duration
		adminDone := make(chan struct{})
		go func() { // the legitimate client
			defer close(adminDone)
			for i := 0; ; i++ {
				select {
				case <-stopAdmin:
					return
				default:
				}
				start := time.Now()
				st, _ := e.api("POST", "/api/v1/apps", e.admin, map[string]any{"displayName": fmt.Sprintf("app %d", i)})
				if st == http.StatusOK {
					lat = append(lat, time.Since(start))
				}
			}
		}()
		begin := time.Now()
		for c := range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perCaller {
					req, _ := http.NewRequest("POST", targets[(c+i)%2], bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+bearer)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						count("error: " + err.Error())
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					count(resp.StatusCode)
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(begin)
		close(stopAdmin)
		<-adminDone
		peak := heap.finish()
		var summary []string
		statuses.Range(func(k, v any) bool {
			summary = append(summary, fmt.Sprintf("%v×%d", k, v.(*atomic.Int64).Load()))
			return true
		})
		slices.Sort(lat)
		p50 := time.Duration(0)
		if len(lat) > 0 {
			p50 = lat[len(lat)/2]
		}
		t.Logf("%d bodies of %d bytes in %v: %s; peak heap %.1f MiB; admin create-app p50 %v over %d calls",
			callers*perCaller, len(body), elapsed.Round(time.Millisecond), strings.Join(summary, ", "), float64(peak)/(1<<20), p50, len(lat))
		if v, ok := statuses.Load(want); !ok || v.(*atomic.Int64).Load() != int64(callers*perCaller) {
			t.Errorf("statuses %s; want all %d to be %d", strings.Join(summary, ", "), callers*perCaller, want)
		}
		if peak > heapBound {
			t.Errorf("peak heap %d MiB, want at most %d MiB", peak>>20, heapBound>>20)
		}
	}
	t.Run("connector token", func(t *testing.T) { flood(t, connector, callers, 4, http.StatusForbidden) })
	// An admin's bodies are read (all at once fit the default 64 MiB
	// budget): each revoke of the same credential is 200, as revoke is
	// idempotent, and the heap stays bounded.
	t.Run("admin token", func(t *testing.T) {
		targets = []string{creds + "/" + credID, creds + "/" + credID}
		flood(t, e.admin, adminCallers, 1, http.StatusOK)
	})
}

// BenchmarkDecodeJSON compares the streaming reader with the one it
// replaced on a typical request and on the probe's body (as an admin's, the
// only caller whose body is now read). Read B/op: the old reader's
// allocation grew with the body, the new one's with the keys' hashes.
func BenchmarkDecodeJSON(b *testing.B) {
	bodies := map[string][]byte{
		"rotate":     []byte(`{"appId":"2HErg7BRmNdHgX8sTCWVq4E1fyh","connector_id":"2HErg7BRmNdHgX8sTCWVq4E1fyi","displayName":"ci","expires":"720h"}`),
		"60000 keys": manyKeys(60000),
	}
	for name, body := range bodies {
		b.Run(name+"/streaming", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var req apitype.RotateCredentialRequest
				if err := decodeJSON(bytes.NewReader(body), &req); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/legacy", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				var req apitype.RotateCredentialRequest
				if err := legacyDecodeJSON(body, &req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
