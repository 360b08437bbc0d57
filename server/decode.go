package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"mime"
	"net/http"
	"reflect"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/authority"
)

// maxJSONDepth bounds nesting in request bodies; real requests nest two or
// three levels.
const maxJSONDepth = 32

// validator is a request type that can check itself.
type validator interface{ Validate() error }

// httpError is a failure of the transport itself (such as an unsupported
// media type) with no domain meaning; domain failures are *conncred.Error.
// It carries only the google.rpc code: its HTTP status is httpStatusFor's.
type httpError struct {
	rpc int
	msg string
}

func (e *httpError) Error() string { return e.msg }

// readJSON is conncred's one request-body reader. In this order, so that a
// caller spends the server nothing it is not allowed to:
//
//  1. it asks the authority whether the principal may do action, and
//     refuses without touching the body if not;
//  2. it refuses other media types (415) and a declared Content-Length over
//     the limit (413), still unread;
//  3. it reserves the body's bytes from the server-wide in-flight budget,
//     waiting briefly, or answers 503 with Retry-After;
//  4. it streams the body into v (see decodeJSON) and validates v.
//
// It accepts what ConductorOne's clients send (a JSON object, "{}", or no
// body at all, with or without a Content-Type, keys in camelCase or
// snake_case) and refuses anything else with a message that says what to
// fix: bodies over the limit, other media types, invalid UTF-8, malformed
// JSON, non-objects, deep nesting, duplicate keys and wrong field types.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, action authority.Action, v validator) error {
	if err := s.auth.Authorize(r.Context(), action); err != nil {
		return err
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "text/json") {
			return &httpError{rpc: rpcInvalidArgument, msg: fmt.Sprintf("Content-Type %q is not supported; send application/json (or no Content-Type)", truncate(ct))}
		}
	}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		return &http.MaxBytesError{Limit: s.cfg.MaxBodyBytes}
	}
	if r.ContentLength != 0 {
		n := r.ContentLength
		if n < 0 { // unknown (chunked, or HTTP/2 without content-length)
			n = s.cfg.MaxBodyBytes
		}
		release, err := s.bodies.acquire(r.Context(), n)
		if err != nil {
			w.Header().Set("Retry-After", "1")
			return err
		}
		defer release()
	}
	if err := decodeJSON(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes), v); err != nil {
		return err
	}
	return v.Validate()
}

// bodyBudget bounds the bytes of request bodies being read at once across
// the whole server, so the memory that reading takes is set by
// configuration and not by how many callers send at once. A request
// reserves its Content-Length (or the body limit when the length is not
// declared) before reading and gives it back when decoding is done.
type bodyBudget struct {
	sem  *semaphore.Weighted // nil: no bound
	size int64
	wait time.Duration
}

func newBodyBudget(size int64, wait time.Duration) *bodyBudget {
	if size <= 0 {
		return &bodyBudget{}
	}
	return &bodyBudget{sem: semaphore.NewWeighted(size), size: size, wait: wait}
}

// acquire reserves n bytes, waiting at most b.wait (or until ctx ends) for
// them, and returns the function that gives them back. A body larger than
// the whole budget reserves all of it, so it is still served, alone.
func (b *bodyBudget) acquire(ctx context.Context, n int64) (release func(), err error) {
	if b.sem == nil {
		return func() {}, nil
	}
	n = min(n, b.size)
	if !b.sem.TryAcquire(n) {
		ctx, cancel := context.WithTimeout(ctx, b.wait)
		defer cancel()
		if err := b.sem.Acquire(ctx, n); err != nil {
			return nil, &httpError{rpc: rpcUnavailable,
				msg: "the server is reading too many request bodies at once; retry after the number of seconds in Retry-After"}
		}
	}
	return func() { b.sem.Release(n) }, nil
}

// decodeJSON streams one JSON object from body into v. It never holds the
// body, nor a tree of it: one pass over json.Decoder tokens checks the
// structure (UTF-8, syntax with the byte offset, one object, nesting at
// most maxJSONDepth, no key twice in an object) and keeps, re-encoded, only
// the members that name a field of v, with snake_case keys renamed to
// camelCase (as protobuf JSON parsing does; when both spellings are present
// the camelCase one wins). That small document is then unmarshalled into v,
// so field types and custom unmarshalers behave as encoding/json has them.
// Memory is thus proportional to v's fields plus one key hash per member of
// the open objects, whatever the body holds.
func decodeJSON(body io.Reader, v any) error {
	br := bufio.NewReaderSize(&utf8Reader{r: body}, 512)
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return unmarshalKept([]byte("{}"), v) // no body is {}
		}
		if err != nil {
			return bodyError(err, 0)
		}
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			continue
		}
		if c != '{' {
			return conncred.Errorf(conncred.EInvalid, "request body must be a JSON object")
		}
		_ = br.UnreadByte()
		break
	}
	wk := &walker{dec: json.NewDecoder(br), seed: maphash.MakeSeed()}
	wk.dec.UseNumber()
	tok, err := wk.next()
	if err != nil {
		return err
	}
	kept, err := wk.value(tok, reflect.TypeOf(v), 0)
	if err != nil {
		return err
	}
	// Only spaces may follow the object, up to the end of the body.
	switch _, err := wk.dec.Token(); {
	case err == io.EOF:
		return unmarshalKept(kept, v)
	case err != nil:
		return bodyError(err, wk.dec.InputOffset())
	default:
		return conncred.Errorf(conncred.EInvalid, "request body has data after the JSON object")
	}
}

// unmarshalKept decodes the kept document into v and names what is wrong:
// the field, and for a value a custom unmarshaler refused (a timestamp, a
// duration) the format to use.
func unmarshalKept(doc []byte, v any) error {
	err := json.Unmarshal(doc, v)
	if err == nil {
		return nil
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return conncred.Errorf(conncred.EInvalid, "field %q must be %s, not a JSON %s", typeErr.Field, typeName(typeErr.Type.Kind().String()), typeErr.Value)
	}
	field := failingField(doc, v)
	var ce *conncred.Error
	var pe *time.ParseError
	switch {
	case errors.As(err, &ce) && field != "":
		return conncred.Errorf(conncred.EInvalid, "field %q: %s", field, conncred.ErrorMessage(ce))
	case errors.As(err, &ce):
		return ce
	case errors.As(err, &pe) && field != "":
		return conncred.Errorf(conncred.EInvalid, "field %q must be an RFC 3339 timestamp such as \"2026-12-31T23:59:59Z\", not %q", field, truncate(pe.Value))
	case errors.As(err, &pe):
		return conncred.Errorf(conncred.EInvalid, "a timestamp must be RFC 3339, such as \"2026-12-31T23:59:59Z\", not %q", truncate(pe.Value))
	case field != "":
		return conncred.Errorf(conncred.EInvalid, "field %q does not have the expected form", field)
	default:
		return conncred.Errorf(conncred.EInvalid, "request body does not match the expected shape")
	}
}

// failingField finds, on the refusal path only, which top-level member of
// doc a fresh value of v's type refuses, by decoding the members one at a
// time. doc is small (only the members that name a field of v).
func failingField(doc []byte, v any) string {
	var members map[string]json.RawMessage
	if json.Unmarshal(doc, &members) != nil {
		return ""
	}
	t := reflect.TypeOf(v)
	if t.Kind() != reflect.Pointer {
		return ""
	}
	for name, raw := range members {
		one, err := json.Marshal(map[string]json.RawMessage{name: raw})
		if err != nil {
			continue
		}
		if json.Unmarshal(one, reflect.New(t.Elem()).Interface()) != nil {
			return name
		}
	}
	return ""
}

func typeName(kind string) string {
	switch kind {
	case "ptr", "struct", "map":
		return "an object"
	case "slice":
		return "an array"
	case "int", "int32", "int64":
		return "an integer"
	default:
		return "a " + kind
	}
}

// bodyError turns a failure to read the next token into the error the
// caller sees: 413 for a body over the limit, 400 with a message otherwise.
func bodyError(err error, offset int64) error {
	var tooBig *http.MaxBytesError
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, errInvalidUTF8):
		return conncred.Errorf(conncred.EInvalid, "request body is not valid UTF-8")
	case errors.As(err, &tooBig):
		return err
	case errors.As(err, &syn):
		return conncred.Errorf(conncred.EInvalid, "request body is not valid JSON: syntax error at byte %d", syn.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return conncred.Errorf(conncred.EInvalid, "request body is not valid JSON: it ends early or has a stray character near byte %d", offset)
	default:
		return conncred.WrapError(conncred.EInvalid, err, "could not read the request body")
	}
}
