package server

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
)

// decodeBytes runs the streaming reader over body, one byte per read, so
// that every token and UTF-8 sequence is split across reads.
func decodeBytes(body []byte, v any) error {
	return decodeJSON(iotest.OneByteReader(bytes.NewReader(body)), v)
}

func TestDecodeJSON(t *testing.T) {
	deep := func(n int) string { return strings.Repeat(`{"a":`, n-1) + "{}" + strings.Repeat("}", n-1) }
	for _, tc := range []struct {
		body string
		ok   bool
		msg  string // part of the refusal's message
	}{
		{``, true, ""},
		{`   `, true, ""},
		{`{}`, true, ""},
		{" \r\n\t{} \n", true, ""},
		{`{"displayName":"a","description":"b"}`, true, ""},
		{`{"display_name":"a"}`, true, ""},
		{`{"a":{"b":[1,{"c":2}]},"displayName":"x"}`, true, ""},
		{deep(32), true, ""},
		{deep(33), false, "deeper than 32"},
		{`{"a":1,"a":2}`, false, `key "a" twice`},
		{`{"o":{"k":1,"k":2}}`, false, `key "k" twice`},
		{`{"displayName":"a"} {"x":1}`, false, "data after the JSON object"},
		{`{"displayName":"a"}}`, false, "syntax error at byte"},
		{`{"displayName":"a"`, false, "ends early"},
		{`{"displayName" "a"}`, false, "syntax error at byte 15"},
		{`[]`, false, "must be a JSON object"},
		{`"str"`, false, "must be a JSON object"},
		{`{"displayName":1}`, false, `field "displayName" must be a string, not a JSON number`},
		{`{"displayName":{"x":1}}`, false, `field "displayName" must be a string, not a JSON object`},
		{`{"displayName":[1]}`, false, `field "displayName" must be a string, not a JSON array`},
		{"{\"displayName\":\"\xff\"}", false, "not valid UTF-8"},
		{"{\"unknown\":\"\xe2\x82\"}", false, "not valid UTF-8"},
		{"{\"displayName\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"}", true, ""},
		{"\xef\xbb\xbf{}", false, "must be a JSON object"},
	} {
		t.Run(tc.body, func(t *testing.T) {
			var req apitype.CreateAppRequest
			err := decodeBytes([]byte(tc.body), &req)
			if got, want := err == nil, tc.ok; got != want {
				t.Fatalf("decodeJSON(%q) = %v, want ok=%v", tc.body, err, want)
			}
			if err == nil {
				return
			}
			if got, want := conncred.ErrorCode(err), conncred.EInvalid; got != want {
				t.Errorf("code %q, want %q", got, want)
			}
			if got := conncred.ErrorMessage(err); !strings.Contains(got, tc.msg) {
				t.Errorf("message %q, want it to say %q", got, tc.msg)
			}
		})
	}
}

// TestDecodeSpellings checks the key spellings ConductorOne's clients
// send, at the top level and nested, and that camelCase wins over
// snake_case in either order.
func TestDecodeSpellings(t *testing.T) {
	for _, body := range []string{
		`{"display_name":"snake","displayName":"camel"}`,
		`{"displayName":"camel","display_name":"snake"}`,
	} {
		var req apitype.CreateAppRequest
		if err := decodeBytes([]byte(body), &req); err != nil || req.DisplayName != "camel" {
			t.Fatalf("%s: got %q, %v; want camelCase to win", body, req.DisplayName, err)
		}
	}
	var up apitype.UpdateConnectorRequest
	if err := decodeBytes([]byte(`{"connector":{"display_name":"n","user_ids":["u1"]},"update_mask":{"paths":["display_name","user_ids"]}}`), &up); err != nil {
		t.Fatal(err)
	}
	if got, want := *up.Connector.DisplayName, "n"; got != want {
		t.Errorf("connector.displayName = %q, want %q", got, want)
	}
	if got, want := up.Connector.UserIDs, []string{"u1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("connector.userIds = %q, want %q", got, want)
	}
	if got, want := up.UpdateMask, (apitype.FieldMask{"displayName", "userIds"}); !reflect.DeepEqual(got, want) {
		t.Errorf("updateMask = %q, want %q", got, want)
	}
	var rot apitype.RotateCredentialRequest
	if err := decodeBytes([]byte(`{"app_id":"a","connector_id":"c","expires":"720h","expires_time":"2026-12-01T00:00:00Z"}`), &rot); err != nil {
		t.Fatal(err)
	}
	if rot.AppID != "a" || rot.ConnectorID != "c" || time.Duration(rot.Expires) != 720*time.Hour || rot.ExpiresTime == nil {
		t.Errorf("rotate request decoded as %+v", rot)
	}
	var typed apitype.UpdateAppRequest
	err := decodeBytes([]byte(`{"app":{"display_name":7}}`), &typed)
	if got, want := conncred.ErrorMessage(err), `field "app.displayName" must be a string, not a JSON number`; got != want {
		t.Errorf("nested type error %q, want %q", got, want)
	}
}

// legacyCorpus is bodies the streaming reader must treat exactly as the
// reader it replaced did: same success or refusal, same decoded value.
var legacyCorpus = []string{
	``, `{}`, `  {}  `, `{"displayName":"a","description":"b"}`, `{"display_name":"a"}`,
	`{"DisplayName":"A","displayName":"b"}`, `{"displayname":"x"}`, `{"DISPLAY_NAME":"x"}`,
	`{"display_name":"s","displayName":"c","description":null}`,
	`{"app":{"displayName":"x"},"updateMask":"displayName"}`, `{"app":{"display_name":"x","description":"d"},"update_mask":"display_name,description"}`,
	`{"app":null}`, `{"app":"x"}`, `{"app":[]}`, `{"updateMask":{"paths":["display_name"]},"app":{}}`, `{"updateMask":7,"app":{}}`,
	`{"connector":{"userIds":["a","b"],"user_ids":["c"]},"updateMask":"userIds"}`, `{"connector":{"userIds":"a"}}`, `{"connector":{"userIds":[1]}}`,
	`{"appId":"a","connectorId":"c","expires":"1h"}`, `{"app_id":"a","expires":5}`, `{"expires":"forever"}`, `{"expiresTime":"yesterday"}`,
	`{"expires_time":"2026-12-01T00:00:00Z","expiresTime":"2027-01-01T00:00:00Z"}`, `{"catalogId":"x","user_ids":[],"userIds":null}`,
	`{"a":{"b":[1,{"c":2}]},"displayName":"x"}`, `{"a":1,"a":2}`, `{"x":{"k":1,"k":2}}`, `{"a":1} x`, `{"a":1}]`, `{"a":`,
	`{"displayName":1e400}`, `{"displayName":true}`, `{"displayName":"\u00e9\ud83d\ude00"}`, `{"displayName":"\ud800"}`,
	`{"pad":"` + strings.Repeat("x", 700) + `","displayName":"ok"}`,
}

func TestDecodeMatchesLegacy(t *testing.T) {
	for _, body := range legacyCorpus {
		checkAgainstLegacy(t, []byte(body))
	}
}

// checkAgainstLegacy decodes body with both readers into each request type
// and fails unless they agree.
func checkAgainstLegacy(t *testing.T, body []byte) {
	t.Helper()
	for _, typ := range []reflect.Type{
		reflect.TypeFor[apitype.CreateAppRequest](), reflect.TypeFor[apitype.UpdateAppRequest](),
		reflect.TypeFor[apitype.CreateConnectorRequest](), reflect.TypeFor[apitype.UpdateConnectorRequest](),
		reflect.TypeFor[apitype.RotateCredentialRequest](), reflect.TypeFor[apitype.CreateAdminRequest](), reflect.TypeFor[apitype.Empty](),
	} {
		got, want := reflect.New(typ), reflect.New(typ)
		gotErr, wantErr := decodeBytes(body, got.Interface()), legacyDecodeJSON(body, want.Interface())
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%s %q: streaming reader says %v, legacy reader %v", typ.Name(), body, gotErr, wantErr)
		}
		if gotErr == nil && !reflect.DeepEqual(got.Interface(), want.Interface()) {
			t.Fatalf("%s %q: streaming reader decoded %+v, legacy reader %+v", typ.Name(), body, got.Elem(), want.Elem())
		}
		// Type errors must name the same field; structural refusals
		// may word a different first fault of a doubly broken body.
		if gotErr != nil && strings.HasPrefix(conncred.ErrorMessage(wantErr), "field ") {
			if g, w := conncred.ErrorMessage(gotErr), conncred.ErrorMessage(wantErr); g != w {
				t.Fatalf("%s %q: message %q, legacy %q", typ.Name(), body, g, w)
			}
		}
	}
}

// FuzzDecodeJSON feeds the request reader arbitrary bodies: it must never
// panic, every refusal must be an EInvalid with a message, and it must
// agree with the reader it replaced.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range legacyCorpus {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range []any{&apitype.CreateAppRequest{}, &apitype.UpdateAppRequest{}, &apitype.RotateCredentialRequest{}, &apitype.CreateConnectorRequest{}} {
			err := decodeBytes(body, v)
			if err != nil && (conncred.ErrorCode(err) != conncred.EInvalid || conncred.ErrorMessage(err) == "") {
				t.Fatalf("decodeJSON(%q): %v", body, err)
			}
		}
		// The legacy reader trimmed Unicode spaces (U+0085, U+00A0) around
		// the body; JSON allows only ASCII ones, and so does the new one.
		if trimmed := bytes.TrimSpace(body); len(trimmed) != len(bytes.Trim(body, " \t\r\n")) {
			return
		}
		checkAgainstLegacy(t, body)
	})
}

// TestDecodeLimit checks that a body over the limit is refused (400 naming
// the limit, see writeError) however far
// into it the decoder is, and a read failure says so.
func TestDecodeLimit(t *testing.T) {
	body := `{"displayName":"` + strings.Repeat("a", 2000) + `"}`
	rec := &nopWriter{}
	err := decodeJSON(http.MaxBytesReader(rec, io.NopCloser(strings.NewReader(body)), 1000), &apitype.CreateAppRequest{})
	var tooBig *http.MaxBytesError
	if !errors.As(err, &tooBig) || tooBig.Limit != 1000 {
		t.Fatalf("got %v, want a MaxBytesError of 1000", err)
	}
	err = decodeJSON(iotest.ErrReader(errors.New("connection reset")), &apitype.CreateAppRequest{})
	if got, want := conncred.ErrorMessage(err), "could not read the request body"; got != want {
		t.Fatalf("read failure: %q, want %q", got, want)
	}
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

func TestUTF8Reader(t *testing.T) {
	valid := "a\u00e9\u20ac\U0001F600z"
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{valid, true},
		{"", true},
		{"\xff", false},
		{"a\xc3", false},            // ends inside a sequence
		{"\xe2\x82", false},         // ends inside a sequence
		{"\xe2\x82A", false},        // a sequence broken by ASCII
		{"\xc0\xaf", false},         // overlong
		{"\xed\xa0\x80", false},     // a surrogate
		{"\xf4\x90\x80\x80", false}, // beyond U+10FFFF
	} {
		for _, r := range map[string]func(io.Reader) io.Reader{
			"whole":    func(r io.Reader) io.Reader { return r },
			"one byte": iotest.OneByteReader,
			"halves":   iotest.HalfReader,
		} {
			got, err := io.ReadAll(&utf8Reader{r: r(strings.NewReader(tc.in))})
			if (err == nil) != tc.ok {
				t.Errorf("%q: err %v, want ok=%v", tc.in, err, tc.ok)
			}
			if err == nil && string(got) != tc.in {
				t.Errorf("%q: read %q", tc.in, got)
			}
		}
	}
}

// TestDecodeNamesTheField: a value a custom unmarshaler refuses is reported
// with its field and the format to use, not as a shapeless error.
func TestDecodeNamesTheField(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`{"appId":"a","connectorId":"c","expiresTime":"yesterday"}`, `field "expiresTime" must be an RFC 3339 timestamp such as "2026-12-31T23:59:59Z", not "yesterday"`},
		{`{"app_id":"a","connector_id":"c","expires_time":"2026-13-01"}`, `field "expiresTime" must be an RFC 3339 timestamp`},
		{`{"appId":"a","connectorId":"c","expires":"30d"}`, `field "expires": "30d" is not a duration`},
		{`{"appId":"a","connectorId":"c","expires":5}`, `field "expires": a duration must be a string`},
	} {
		err := decodeJSON(strings.NewReader(tc.body), &apitype.RotateCredentialRequest{})
		if got := conncred.ErrorMessage(err); conncred.ErrorCode(err) != conncred.EInvalid || !strings.HasPrefix(got, tc.want) {
			t.Errorf("decode %s: %q (%s); want a message starting %q", tc.body, got, conncred.ErrorCode(err), tc.want)
		}
	}
}
