package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/baton"
)

// uploadStream plays one UploadAsset stream from a slice of messages.
type uploadStream []baton.UploadMessage

func (u *uploadStream) Next() (baton.UploadMessage, error) {
	if len(*u) == 0 {
		return baton.UploadMessage{}, io.EOF
	}
	m := (*u)[0]
	*u = (*u)[1:]
	return m, nil
}

// runConnectorSync plays the connector side of a sync already pending for
// the connector (claim, upload c1z, finish) through the wing's rules, as
// the BatonService would on the connector's RPCs, and returns the task id.
func (e *cliEnv) runConnectorSync(t *testing.T, appID, connID string, c1z []byte) string {
	t.Helper()
	ctx := conncred.WithPrincipal(context.Background(), &conncred.Principal{Kind: conncred.KindConnector, AppID: appID, ConnectorID: connID, CredentialID: "test"})
	poll, err := e.baton.NextTasks(ctx, "host-1", 1)
	if err != nil || len(poll.Tasks) != 1 {
		t.Fatalf("claiming the sync: %d tasks, %v", len(poll.Tasks), err)
	}
	id := poll.Tasks[0].ID
	sum := sha256.Sum256(c1z)
	msgs := uploadStream{{Metadata: &baton.UploadMetadata{HostID: "host-1", TaskID: id}}}
	for b := c1z; len(b) > 0; {
		n := min(len(b), 512<<10)
		msgs = append(msgs, baton.UploadMessage{Data: b[:n]})
		b = b[n:]
	}
	msgs = append(msgs, baton.UploadMessage{EOF: &baton.UploadEOF{SHA256: sum[:]}})
	if _, err := e.baton.Upload(ctx, &msgs); err != nil {
		t.Fatalf("upload: %v", err)
	}
	if err := e.baton.Finish(ctx, baton.FinishRequest{HostID: "host-1", TaskID: id, Success: true}); err != nil {
		t.Fatalf("finish: %v", err)
	}
	return id
}

// TestCLISyncs drives the sync commands against a server that ran a sync:
// status, force a sync, schedule, pause/resume, list, get, and a download
// that is byte-identical, shows progress on stderr and never overwrites.
func TestCLISyncs(t *testing.T) {
	e := newCLIEnv(t)
	var app struct{ App struct{ ID string } }
	e.mustJSON(t, &app, "app", "create", "--name", "Okta")
	var conn connectorJSON
	e.mustJSON(t, &conn, "connector", "create", "--app", app.App.ID)
	appID, connID := app.App.ID, conn.ConnectorView.Connector.ID
	cargs := []string{"--app", appID, "--id", connID}
	sargs := []string{"--app", appID, "--connector", connID}

	out, errOut, code := e.run(t, append([]string{"connector", "status"}, cargs...)...)
	if code != 0 || !strings.Contains(out, "SYNC_STATUS_UNSPECIFIED") {
		t.Fatalf("status before any sync: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	var started struct {
		SyncID string
		Status struct{ Status string }
	}
	e.mustJSON(t, &started, append([]string{"connector", "sync"}, cargs...)...)
	if started.SyncID == "" || started.Status.Status != "SYNC_STATUS_RUNNING" {
		t.Fatalf("connector sync: got %+v, want a syncId and SYNC_STATUS_RUNNING", started)
	}
	// A second sync while one is pending is refused with what to do.
	if _, errOut, code := e.run(t, append([]string{"connector", "sync"}, cargs...)...); code != 1 || errOut == "" {
		t.Errorf("second sync: exit %d, stderr %q; want 1 and a reason", code, errOut)
	}

	c1z := append([]byte("C1ZF\x00"), make([]byte, 3<<20)...) // 3 MiB: several chunks, several progress lines
	if _, err := rand.Read(c1z[5:]); err != nil {
		t.Fatal(err)
	}
	id := e.runConnectorSync(t, appID, connID, c1z)
	if id != started.SyncID {
		t.Fatalf("the connector ran %s, want the forced sync %s", id, started.SyncID)
	}

	out, _, code = e.run(t, append([]string{"sync", "list"}, sargs...)...)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "finished") || !strings.Contains(out, "3145733") {
		t.Errorf("sync list: exit %d\n%s\nwant %s finished with 3145733 bytes", code, out, id)
	}
	var got struct {
		Sync struct{ ID, State, ArtifactSha256 string }
	}
	e.mustJSON(t, &got, append([]string{"sync", "get", "--id", id}, sargs...)...)
	if got.Sync.ID != id || got.Sync.State != "finished" || got.Sync.ArtifactSha256 == "" {
		t.Errorf("sync get: got %+v", got)
	}

	dest := filepath.Join(t.TempDir(), "okta.c1z")
	out, errOut, code = e.run(t, append([]string{"sync", "download", "--id", id, "--output", dest}, sargs...)...)
	if code != 0 {
		t.Fatalf("download: exit %d: %s", code, errOut)
	}
	if b, err := os.ReadFile(dest); err != nil || !bytes.Equal(b, c1z) {
		t.Fatalf("downloaded file: %d bytes, %v; want the uploaded %d bytes", len(b), err, len(c1z))
	}
	if !strings.Contains(out, "verified") || !strings.Contains(errOut, "(100%)") || strings.Count(errOut, "\n") < 3 {
		t.Errorf("download output: stdout %q, stderr %q; want verified, and progress lines up to 100%%", out, errOut)
	}
	// The file exists now: a second download refuses and leaves it alone.
	_, errOut, code = e.run(t, append([]string{"sync", "download", "--id", id, "--output", dest}, sargs...)...)
	if code != 1 || !strings.Contains(errOut, "never overwrites") {
		t.Errorf("download over an existing file: exit %d, stderr %q", code, errOut)
	}
	if b, _ := os.ReadFile(dest); !bytes.Equal(b, c1z) {
		t.Error("the existing file changed")
	}
	if ents, _ := os.ReadDir(filepath.Dir(dest)); len(ents) != 1 {
		t.Errorf("download dir holds %d entries, want only the c1z (no partial file left)", len(ents))
	}

	// Schedule, pause and resume show in status.
	out, errOut, code = e.run(t, append([]string{"connector", "schedule", "--cron", "30 19 * * *", "--timezone", "Europe/Berlin"}, cargs...)...)
	if code != 0 || !strings.Contains(out, "30 19 * * * (Europe/Berlin)") || !strings.Contains(out, "SYNC_STATUS_DONE") {
		t.Errorf("schedule: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := e.run(t, append([]string{"connector", "schedule"}, cargs...)...); code != 2 || !strings.Contains(errOut, "--cron") {
		t.Errorf("schedule without --cron or --clear: exit %d, stderr %q; want a usage error", code, errOut)
	}
	var st struct {
		Status         struct{ Status string }
		SyncDisabledAt string
		CanResumeSync  bool
	}
	e.mustJSON(t, &st, append([]string{"connector", "pause"}, cargs...)...)
	if st.Status.Status != "SYNC_STATUS_DISABLED" || st.SyncDisabledAt == "" || !st.CanResumeSync {
		t.Errorf("pause: got %+v", st)
	}
	st.SyncDisabledAt = ""
	e.mustJSON(t, &st, append([]string{"connector", "resume"}, cargs...)...)
	if st.Status.Status != "SYNC_STATUS_DONE" || st.SyncDisabledAt != "" || st.CanResumeSync {
		t.Errorf("resume: got %+v", st)
	}
	out, _, _ = e.run(t, append([]string{"connector", "schedule", "--clear"}, cargs...)...)
	if strings.Contains(out, "Europe/Berlin") {
		t.Errorf("schedule --clear: the schedule is still shown:\n%s", out)
	}
}

// TestSaveVerified: a download whose bytes or length differ from the
// record leaves nothing under the output name.
func TestSaveVerified(t *testing.T) {
	data := []byte("C1ZF\x00 some sync")
	sum := sha256.Sum256(data)
	for _, tc := range []struct {
		name    string
		body    []byte
		size    int64
		wantErr string
	}{
		{"ok", data, int64(len(data)), ""},
		{"short", data[:5], int64(len(data)), "bytes"},
		{"altered", append([]byte("X"), data[1:]...), int64(len(data)), "SHA-256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "s.c1z")
			var progress bytes.Buffer
			err := saveVerified(bytes.NewReader(tc.body), dest, tc.size, sum[:], &progress)
			if tc.wantErr == "" {
				if b, _ := os.ReadFile(dest); err != nil || !bytes.Equal(b, data) {
					t.Fatalf("got %v, file %q", err, b)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error: got %v, want one about %s", err, tc.wantErr)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("left %d files behind, want none", len(ents))
			}
		})
	}
}
