package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
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

// readJSON is conncred's one request-body reader. It accepts what
// ConductorOne's clients send (a JSON object, "{}", or no body at all, with
// or without a Content-Type, keys in camelCase or snake_case) and refuses
// anything else with a message that says what to fix: bodies over the
// limit, other media types, invalid UTF-8, malformed JSON, non-objects,
// deep nesting, duplicate keys and wrong field types.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v validator) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "text/json") {
			return &httpError{rpc: rpcInvalidArgument, msg: fmt.Sprintf("Content-Type %q is not supported; send application/json (or no Content-Type)", truncate(ct))}
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return err
		}
		return conncred.WrapError(conncred.EInvalid, err, "could not read the request body")
	}
	if err := decodeJSON(body, v); err != nil {
		return err
	}
	return v.Validate()
}

// decodeJSON checks and decodes a request body into v.
func decodeJSON(body []byte, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		body = []byte("{}")
	}
	if !utf8.Valid(body) {
		return conncred.Errorf(conncred.EInvalid, "request body is not valid UTF-8")
	}
	if body[0] != '{' {
		return conncred.Errorf(conncred.EInvalid, "request body must be a JSON object")
	}
	if err := checkStructure(body); err != nil {
		return err
	}
	var tree any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return conncred.Errorf(conncred.EInvalid, "request body is not valid JSON")
	}
	norm, err := json.Marshal(camelKeys(tree))
	if err != nil {
		return conncred.WrapError(conncred.EInternal, err, "re-encoding the request")
	}
	if err := json.Unmarshal(norm, v); err != nil {
		var typeErr *json.UnmarshalTypeError
		var ce *conncred.Error
		switch {
		case errors.As(err, &ce):
			return ce
		case errors.As(err, &typeErr):
			return conncred.Errorf(conncred.EInvalid, "field %q must be %s, not a JSON %s", typeErr.Field, typeName(typeErr.Type.Kind().String()), typeErr.Value)
		default:
			return conncred.Errorf(conncred.EInvalid, "request body does not match the expected shape")
		}
	}
	return nil
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

// checkStructure walks the tokens of body and refuses malformed JSON (with
// the byte offset), trailing data, nesting deeper than maxJSONDepth and
// objects that name a key twice (decoders disagree on which one wins).
func checkStructure(body []byte) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct {
		object bool
		keys   map[string]bool
		expect bool // in an object: the next string token is a key
	}
	var stack []*frame
	done := false // the top-level value is complete
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err == nil && done {
			return conncred.Errorf(conncred.EInvalid, "request body has data after the JSON object")
		}
		if err != nil {
			var syn *json.SyntaxError
			if errors.As(err, &syn) {
				return conncred.Errorf(conncred.EInvalid, "request body is not valid JSON: syntax error at byte %d", syn.Offset)
			}
			return conncred.Errorf(conncred.EInvalid, "request body is not valid JSON: it ends early or has a stray character near byte %d", dec.InputOffset())
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		if key, isKey := tok.(string); isKey && top != nil && top.object && top.expect {
			if top.keys[key] {
				return conncred.Errorf(conncred.EInvalid, "request body names the key %q twice in one object", truncate(key))
			}
			top.keys[key] = true
			top.expect = false
			continue
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) >= maxJSONDepth {
					return conncred.Errorf(conncred.EInvalid, "request body nests deeper than %d levels", maxJSONDepth)
				}
				stack = append(stack, &frame{object: t == '{', keys: map[string]bool{}, expect: t == '{'})
				continue
			case '}', ']':
				stack = stack[:len(stack)-1]
			}
		}
		if len(stack) == 0 {
			done = true
			continue
		}
		if top := stack[len(stack)-1]; top.object {
			top.expect = true
		}
	}
	return nil
}

// camelKeys renames snake_case object keys to camelCase, recursively, as
// protobuf JSON parsing does. When both spellings are present the camelCase
// one wins.
func camelKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			ck := apitype.SnakeToCamel(k)
			if _, camel := t[ck]; camel && ck != k {
				continue
			}
			out[ck] = camelKeys(val)
		}
		return out
	case []any:
		for i := range t {
			t[i] = camelKeys(t[i])
		}
		return t
	default:
		return v
	}
}
