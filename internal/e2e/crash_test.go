package e2e

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestKillDuringTraffic kills the server with SIGKILL in the middle of
// rotate and revoke traffic, again and again, and then checks that every
// write that was answered 200 survived: rotated credentials exist and
// authenticate, revoked ones stay revoked.
func TestKillDuringTraffic(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts a server several times")
	}
	dir := filepath.Join(t.TempDir(), "data")
	args := []string{"--dev", "--max-active-credentials", "100000", "--failed-token-limit", "-1"}
	s := Start(t, dir, args...)
	hc := s.HTTPClient(t)
	admin := AdminCredential(t, dir)
	tok := Token(t, hc, s.URL, admin)
	status, body := Call(t, hc, "POST", s.URL+"/api/v1/apps", tok, map[string]any{"displayName": "crash"})
	if status != http.StatusOK {
		t.Fatalf("create app: %d %v", status, body)
	}
	appID := Get(body, "app", "id")
	_, body = Call(t, hc, "POST", s.URL+"/api/v1/apps/"+appID+"/connectors", tok, nil)
	connID := Get(body, "connectorView", "connector", "id")
	base := "/api/v1/apps/" + appID + "/connectors/" + connID + "/credentials"

	type rotated struct {
		id   string
		cred Credential
	}
	var (
		mu      sync.Mutex
		created []rotated
		revoked = map[string]bool{}
	)
	const rounds = 4
	for round := 0; round < rounds; round++ {
		if round > 0 {
			s = Start(t, dir, args...)
			hc = s.HTTPClient(t)
			tok = Token(t, hc, s.URL, admin)
		}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ctx.Err() == nil && i < 500; i++ {
					status, body, err := try(hc, "POST", s.URL+base, tok)
					if err != nil {
						return // the server is gone
					}
					if status != http.StatusOK {
						continue
					}
					r := rotated{id: Get(body, "credential", "id"), cred: Credential{ClientID: Get(body, "credential", "clientId"), ClientSecret: Get(body, "clientSecret")}}
					mu.Lock()
					created = append(created, r)
					mu.Unlock()
					if i%2 == w%2 {
						status, _, err := try(hc, "POST", s.URL+base+"/"+r.id, tok)
						if err != nil {
							return
						}
						if status == http.StatusOK {
							mu.Lock()
							revoked[r.id] = true
							mu.Unlock()
						}
					}
				}
			}(w)
		}
		time.Sleep(time.Duration(300+150*round) * time.Millisecond)
		s.Kill()
		cancel()
		wg.Wait()
	}

	s = Start(t, dir, args...)
	hc = s.HTTPClient(t)
	tok = Token(t, hc, s.URL, admin)
	if len(created) == 0 {
		t.Fatal("no rotate succeeded before the kills; the test exercised nothing")
	}
	t.Logf("%d rotates and %d revokes answered 200 across %d kills", len(created), len(revoked), rounds)
	for i, r := range created {
		status, body := Call(t, hc, "GET", s.URL+base+"/"+r.id, tok, nil)
		if status != http.StatusOK {
			t.Fatalf("rotated credential %s lost after crash: %d %v", r.id, status, body)
		}
		deleted := Get(body, "credential", "deletedAt") != ""
		if revoked[r.id] != deleted && revoked[r.id] {
			t.Fatalf("revoked credential %s is not revoked after crash", r.id)
		}
		// Authenticating every credential would take long; every fifth, and
		// every revoked one, is enough to show the keys survived intact.
		if i%5 != 0 && !deleted {
			continue
		}
		status, _ = TokenRequest(t, hc, s.URL, r.cred.ClientID, Assertion(t, r.cred, time.Now()))
		switch {
		case deleted && status != http.StatusUnauthorized:
			t.Fatalf("revoked credential %s authenticates after crash: %d", r.id, status)
		case !deleted && status != http.StatusOK:
			t.Fatalf("credential %s no longer authenticates after crash: %d", r.id, status)
		}
	}
	if out, errOut, err := Run(context.Background(), t, nil, "migrate", "status", "--data-dir", dir); err != nil || strings.Contains(out+errOut, "pending") {
		t.Fatalf("migrate status after crashes: %v\n%s%s", err, out, errOut)
	}
}

// try is Call without failing the test on a transport error: during a kill
// requests fail, and their outcome is unknown.
func try(hc *http.Client, method, u, token string) (int, map[string]any, error) {
	req, err := http.NewRequest(method, u, strings.NewReader("{}"))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	status, body := decodeQuiet(resp)
	if body == nil {
		// The server died after the status line: the answer never arrived.
		return 0, nil, io.ErrUnexpectedEOF
	}
	return status, body, nil
}
