package server

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strings"
)

// PathOpenAPI is where the server publishes its OpenAPI document.
const PathOpenAPI = "/openapi.json"

// openAPIDoc is the OpenAPI 3.1 description of every route this package
// registers. It is written by hand, as indented JSON so that a change to it
// reads as a diff next to the handler change that needed it, and it is
// served byte for byte as stored. The tests keep it honest: its paths must
// be exactly the registered patterns, it must validate as OpenAPI, and real
// responses must validate against its schemas.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPIETag is the document's strong validator. The document only changes
// with the binary, so it is computed once.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPIDoc)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// handleOpenAPI is GET /openapi.json: public, like the JWKS and the
// metadata, since it describes only what any caller can probe anyway. It is
// cacheable, and revalidation with If-None-Match costs no body. Range
// requests are deliberately not served (http.ServeContent would), so every
// answer is JSON or an empty 304.
func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", openAPIETag)
	if etagMatches(r.Header.Get("If-None-Match"), openAPIETag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDoc)
	return nil
}

// etagMatches reports whether an If-None-Match header names etag, with the
// weak comparison RFC 9110 §13.1.2 prescribes for it.
func etagMatches(header, etag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == "*" || v == etag {
			return true
		}
	}
	return false
}
