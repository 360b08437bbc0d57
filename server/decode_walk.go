package server

import (
	"encoding/json"
	"errors"
	"hash/maphash"
	"io"
	"reflect"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
)

// walker reads a request body token by token; see decodeJSON.
type walker struct {
	dec  *json.Decoder
	seed maphash.Seed
}

// next returns the next token; running out of input here is an error, as
// the value being read is not complete.
func (wk *walker) next() (json.Token, error) {
	tok, err := wk.dec.Token()
	if err != nil {
		return nil, bodyError(err, wk.dec.InputOffset())
	}
	return tok, nil
}

// value reads the value that begins with tok and returns its re-encoding
// for a Go value of type t, or nil when t is nil: the value is then only
// checked, and dropped. depth counts the objects and arrays around it.
func (wk *walker) value(tok json.Token, t reflect.Type, depth int) ([]byte, error) {
	switch tok := tok.(type) {
	case json.Delim:
		if depth >= maxJSONDepth {
			return nil, conncred.Errorf(conncred.EInvalid, "request body nests deeper than %d levels", maxJSONDepth)
		}
		if tok == '{' {
			return wk.object(t, depth+1)
		}
		return wk.array(t, depth+1)
	}
	if t == nil {
		return nil, nil
	}
	switch tok := tok.(type) {
	case nil:
		return []byte("null"), nil
	case bool:
		if tok {
			return []byte("true"), nil
		}
		return []byte("false"), nil
	case json.Number:
		return []byte(tok), nil
	case string:
		return json.Marshal(tok)
	}
	return nil, conncred.Errorf(conncred.EInternal, "unexpected JSON token %T", tok)
}

// member is a kept object member: its camelCase key, whether the body
// spelled it so, and its re-encoded value.
type member struct {
	key   string
	camel bool
	raw   []byte
}

// object reads the members of an object up to its closing brace. For a
// struct type it keeps the members that name a field; for types that take
// any object (maps, interfaces, custom unmarshalers) it keeps all; for
// other types it keeps only the fact that an object was sent, which is all
// encoding/json's type error says.
func (wk *walker) object(t reflect.Type, depth int) ([]byte, error) {
	cl, fields := classify(t)
	seen := map[uint64]struct{}{}
	var kept []member
	index := map[string]int{}
	for {
		tok, err := wk.next()
		if err != nil {
			return nil, err
		}
		if tok == json.Delim('}') {
			break
		}
		key, ok := tok.(string)
		if !ok {
			return nil, conncred.Errorf(conncred.EInvalid, "request body is not valid JSON: an object key is not a string near byte %d", wk.dec.InputOffset())
		}
		// A hash per key rather than the key: an object of many keys costs
		// 8 bytes a key. maphash's per-request seed makes collisions
		// (a false "twice") as unlikely as they are unforceable.
		h := maphash.String(wk.seed, key)
		if _, dup := seen[h]; dup {
			return nil, conncred.Errorf(conncred.EInvalid, "request body names the key %q twice in one object", truncate(key))
		}
		seen[h] = struct{}{}
		var vt reflect.Type
		ck := ""
		switch cl {
		case classStruct:
			ck = apitype.SnakeToCamel(key)
			vt = fields.lookup(ck)
		case classAny:
			ck = apitype.SnakeToCamel(key)
			vt = anyType
		}
		tok, err = wk.next()
		if err != nil {
			return nil, err
		}
		raw, err := wk.value(tok, vt, depth)
		if err != nil {
			return nil, err
		}
		if vt == nil {
			continue
		}
		m := member{key: ck, camel: ck == key, raw: raw}
		if i, ok := index[ck]; ok {
			if kept[i].camel && !m.camel {
				continue // camelCase wins over snake_case, in any order
			}
			kept[i] = m
			continue
		}
		index[ck] = len(kept)
		kept = append(kept, m)
	}
	switch cl {
	case classSkip:
		return nil, nil
	case classOther:
		return []byte("{}"), nil
	}
	// Sorted, as json.Marshal wrote the map this reader used to build, so
	// that keys differing only in case resolve as they always have.
	sort.Slice(kept, func(i, j int) bool { return kept[i].key < kept[j].key })
	out := []byte{'{'}
	for i, m := range kept {
		if i > 0 {
			out = append(out, ',')
		}
		k, _ := json.Marshal(m.key)
		out = append(append(append(out, k...), ':'), m.raw...)
	}
	return append(out, '}'), nil
}

// array reads the elements of an array up to its closing bracket, keeping
// them when t is a slice or array (or takes anything).
func (wk *walker) array(t reflect.Type, depth int) ([]byte, error) {
	cl, _ := classify(t)
	var elem reflect.Type
	switch cl {
	case classList:
		elem = indirect(t).Elem()
	case classAny:
		elem = anyType
	}
	out := []byte{'['}
	for n := 0; ; n++ {
		tok, err := wk.next()
		if err != nil {
			return nil, err
		}
		if tok == json.Delim(']') {
			break
		}
		raw, err := wk.value(tok, elem, depth)
		if err != nil {
			return nil, err
		}
		if elem != nil {
			if n > 0 {
				out = append(out, ',')
			}
			out = append(out, raw...)
		}
	}
	switch cl {
	case classSkip:
		return nil, nil
	case classList, classAny:
		return append(out, ']'), nil
	default:
		return []byte("[]"), nil
	}
}

// How a JSON container bound for a Go type is read.
type typeClass int

const (
	classSkip   typeClass = iota // no Go value: check and drop
	classStruct                  // keep the members naming a field
	classList                    // keep the elements
	classAny                     // keep everything
	classOther                   // a scalar type: keep only the kind, for the type error
)

var (
	anyType         = reflect.TypeFor[any]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

func indirect(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// classify says how a container bound for t is read, with t's JSON fields
// when it is a plain struct.
func classify(t reflect.Type) (typeClass, fieldSet) {
	if t == nil {
		return classSkip, nil
	}
	for {
		if t.Implements(unmarshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
			return classAny, nil
		}
		if t.Kind() != reflect.Pointer {
			break
		}
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Interface, reflect.Map:
		return classAny, nil
	case reflect.Slice, reflect.Array:
		return classList, nil
	case reflect.Struct:
		fs, ok := structFields(t)
		if !ok {
			return classAny, nil
		}
		return classStruct, fs
	default:
		return classOther, nil
	}
}

// fieldSet is the JSON names of a struct's fields and their types.
type fieldSet []struct {
	name string
	typ  reflect.Type
}

// lookup finds the field a key names, ignoring case as encoding/json
// does. strings.EqualFold folds a little more than encoding/json (which also
// folds the Kelvin sign and long s, as EqualFold does); a member kept in
// excess is ignored by json.Unmarshal, while one dropped would be lost.
func (fs fieldSet) lookup(key string) reflect.Type {
	for _, f := range fs {
		if strings.EqualFold(f.name, key) {
			return f.typ
		}
	}
	return nil
}

var fieldCache sync.Map // reflect.Type -> fieldSet, or nil when not plain

// structFields lists t's JSON fields; ok is false for a struct whose fields
// encoding/json would promote from an embedded struct, which is then read
// as classAny (correct, only less frugal).
func structFields(t reflect.Type) (fieldSet, bool) {
	if v, ok := fieldCache.Load(t); ok {
		fs := v.(fieldSet)
		return fs, fs != nil
	}
	fs := fieldSet{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			fs = nil
			break
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fs = append(fs, struct {
			name string
			typ  reflect.Type
		}{name, f.Type})
	}
	fieldCache.Store(t, fs)
	return fs, fs != nil
}

// errInvalidUTF8 is utf8Reader's refusal.
var errInvalidUTF8 = errors.New("request body is not valid UTF-8")

// utf8Reader passes r through, failing with errInvalidUTF8 at the first
// read that holds a byte sequence that is not UTF-8. json.Decoder would
// quietly turn such bytes inside strings into U+FFFD; a sequence split
// across reads is carried over and checked whole.
type utf8Reader struct {
	r     io.Reader
	pend  [utf8.UTFMax]byte // start of a sequence the last read cut off
	npend int
}

func (u *utf8Reader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	b := p[:n]
	if u.npend > 0 && len(b) > 0 {
		take := min(seqLen(u.pend[0])-u.npend, len(b))
		copy(u.pend[u.npend:], b[:take])
		u.npend += take
		b = b[take:]
		if u.npend == seqLen(u.pend[0]) {
			if !utf8.Valid(u.pend[:u.npend]) {
				return 0, errInvalidUTF8
			}
			u.npend = 0
		}
	}
	if u.npend == 0 {
		// Hold back a trailing sequence that may be completed by the next read.
		cut := len(b)
		for k := 1; k <= utf8.UTFMax-1 && k <= len(b); k++ {
			if c := b[len(b)-k]; c < 0x80 {
				break
			} else if c >= 0xC0 {
				if !utf8.FullRune(b[len(b)-k:]) {
					cut = len(b) - k
				}
				break
			}
		}
		if !utf8.Valid(b[:cut]) {
			return 0, errInvalidUTF8
		}
		u.npend = copy(u.pend[:], b[cut:])
	}
	if err == io.EOF && u.npend > 0 {
		return 0, errInvalidUTF8 // the body ends inside a sequence
	}
	return n, err
}

// seqLen is the length of the UTF-8 sequence that starts with c (1 for a
// byte that cannot start one, which utf8.Valid then refuses).
func seqLen(c byte) int {
	switch {
	case c >= 0xF0:
		return 4
	case c >= 0xE0:
		return 3
	case c >= 0xC0:
		return 2
	default:
		return 1
	}
}
