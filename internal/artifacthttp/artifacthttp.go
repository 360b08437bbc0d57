// Package artifacthttp sends a sync's .c1z over HTTP, the one way both the
// API's downloads (package server) and the web console's (package
// webconsole) do it, so that both get the same headers and the same long
// write deadline.
package artifacthttp

import (
	"encoding/base64"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/conncred/conncred/baton"
)

// Window is how long one .c1z transfer may take, either way (1 GiB at
// about 1 MiB/s). A download extends the server's write timeout (seconds,
// sized for API replies) to it, or a large sync would be cut off.
const Window = 30 * time.Minute

// Send streams artifact a from b's artifact store as an attachment named
// after its task, with its length and SHA-256 digest, never cached.
func Send(w http.ResponseWriter, r *http.Request, b *baton.Service, a baton.Artifact) error {
	rc, err := b.OpenArtifact(r.Context(), a)
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(a.Size, 10))
	w.Header().Set("Content-Disposition", `attachment; filename="`+a.TaskID+`.c1z"`)
	w.Header().Set("Digest", "sha-256="+base64.StdEncoding.EncodeToString(a.SHA256))
	w.Header().Set("Cache-Control", "no-store")
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(Window))
	_, _ = io.Copy(w, rc)
	return nil
}
