package webconsole

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
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

// TestSyncDownload runs a sync through the wing's rules (force, claim,
// upload, finish, as the BatonService would on the connector's RPCs) and
// downloads its .c1z from the console: the bytes the connector sent, with
// their length, digest and attachment name. A sync without a file and an
// unknown sync are 404s, and without a session the download is refused.
func TestSyncDownload(t *testing.T) {
	e := newEnv(t)
	app, cn := e.setup("Okta", "okta sync")
	pending, err := e.baton.ForceSync(e.adminCtx(), app.ID, cn.ID)
	if err != nil {
		t.Fatal(err)
	}
	ctx := conncred.WithPrincipal(context.Background(), &conncred.Principal{Kind: conncred.KindConnector, AppID: app.ID, ConnectorID: cn.ID, CredentialID: "test"})
	poll, err := e.baton.NextTasks(ctx, "host-1", 1)
	if err != nil || len(poll.Tasks) != 1 || poll.Tasks[0].ID != pending.ID {
		t.Fatalf("claiming the sync: %+v, %v", poll.Tasks, err)
	}
	base := Prefix + "/apps/" + app.ID + "/connectors/" + cn.ID + "/syncs/"
	c := e.client()
	e.signIn(c)
	if r := e.get(c, base+pending.ID+"/download"); r.StatusCode != http.StatusNotFound {
		t.Fatalf("download before the upload: %d, want 404", r.StatusCode)
	}

	c1z := append([]byte("C1ZF\x00"), bytes.Repeat([]byte("sync data "), 70000)...) // two 512 KiB chunks
	sum := sha256.Sum256(c1z)
	msgs := uploadStream{{Metadata: &baton.UploadMetadata{HostID: "host-1", TaskID: pending.ID}}}
	for b := c1z; len(b) > 0; {
		n := min(len(b), 512<<10)
		msgs = append(msgs, baton.UploadMessage{Data: b[:n]})
		b = b[n:]
	}
	msgs = append(msgs, baton.UploadMessage{EOF: &baton.UploadEOF{SHA256: sum[:]}})
	if _, err := e.baton.Upload(ctx, &msgs); err != nil {
		t.Fatalf("upload: %v", err)
	}
	if err := e.baton.Finish(ctx, baton.FinishRequest{HostID: "host-1", TaskID: pending.ID, Success: true}); err != nil {
		t.Fatalf("finish: %v", err)
	}

	r := e.get(c, base+pending.ID+"/download")
	if r.StatusCode != http.StatusOK || r.Body != string(c1z) {
		t.Fatalf("download: status %d, %d bytes; want 200 and the %d bytes uploaded", r.StatusCode, len(r.Body), len(c1z))
	}
	for h, want := range map[string]string{
		"Content-Type":        "application/octet-stream",
		"Content-Disposition": `attachment; filename="` + pending.ID + `.c1z"`,
		"Digest":              "sha-256=" + base64.StdEncoding.EncodeToString(sum[:]),
		"Cache-Control":       "no-store",
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if r := e.get(c, base+"0ERrCxuQa74HniFNBY9Ru27OL2z/download"); r.StatusCode != http.StatusNotFound {
		t.Errorf("download of an unknown sync: %d, want 404", r.StatusCode)
	}
	if r := e.get(e.client(), base+pending.ID+"/download"); r.StatusCode == http.StatusOK || r.Body == string(c1z) {
		t.Errorf("download without a session: %d, want a refusal", r.StatusCode)
	}
}
