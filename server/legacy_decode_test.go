package server

// The request reader as it was before it streamed (a whole-body read, a
// token pass, a map tree renamed to camelCase, re-encoded and decoded
// again), kept as the reference the streaming reader must agree with.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
)

// legacyDecodeJSON checks and decodes a request body into v.
func legacyDecodeJSON(body []byte, v any) error {
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
	if err := legacyCheckStructure(body); err != nil {
		return err
	}
	var tree any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&tree); err != nil {
		return conncred.Errorf(conncred.EInvalid, "request body is not valid JSON")
	}
	norm, err := json.Marshal(legacyCamelKeys(tree))
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

// legacyCheckStructure walks the tokens of body and refuses malformed JSON (with
// the byte offset), trailing data, nesting deeper than maxJSONDepth and
// objects that name a key twice (decoders disagree on which one wins).
func legacyCheckStructure(body []byte) error {
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

// legacyCamelKeys renames snake_case object keys to camelCase, recursively, as
// protobuf JSON parsing does. When both spellings are present the camelCase
// one wins.
func legacyCamelKeys(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			ck := apitype.SnakeToCamel(k)
			if _, camel := t[ck]; camel && ck != k {
				continue
			}
			out[ck] = legacyCamelKeys(val)
		}
		return out
	case []any:
		for i := range t {
			t[i] = legacyCamelKeys(t[i])
		}
		return t
	default:
		return v
	}
}
