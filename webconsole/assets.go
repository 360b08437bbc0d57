package webconsole

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static/*.css static/*.js
var staticFS embed.FS

// Vendored files and their SHA-256, as static/VENDORED.md records them.
// TestVendoredChecksums holds the embedded files to these.
const (
	HTMXVersion = "2.0.11"
	HTMXSHA256  = "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
)

// asset is one embedded static file with its content hash, which versions
// its URL: a new build's CSS or script is a new URL, so the files can be
// cached for a year without a stale copy outliving a deploy.
type asset struct {
	body        []byte
	contentType string
	version     string
}

var assets = loadAssets()

func loadAssets() map[string]asset {
	out := map[string]asset{}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(e.Name()))
		if strings.HasSuffix(e.Name(), ".js") {
			ct = "text/javascript; charset=utf-8" // mime's table varies by system
		}
		out[e.Name()] = asset{body: b, contentType: ct, version: hex.EncodeToString(sum[:6])}
	}
	return out
}

// assetURL is the versioned URL of a static file, for templates.
func assetURL(name string) string {
	a, ok := assets[name]
	if !ok {
		panic("webconsole: no static file " + name)
	}
	return Prefix + "/static/" + name + "?v=" + a.version
}

// serveStatic serves an embedded file. They are public (the sign-in page
// needs them), the same for everyone, and versioned by URL.
func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	a, ok := assets[r.PathValue("file")]
	if !ok {
		c.renderError(w, r, errNotFoundPage)
		return
	}
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(a.body)
}
