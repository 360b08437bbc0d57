package server

import (
	"testing"

	"github.com/conncred/conncred"
	"github.com/conncred/conncred/apitype"
)

func TestDecodeJSON(t *testing.T) {
	for _, tc := range []struct {
		body string
		ok   bool
	}{
		{``, true},
		{`   `, true},
		{`{}`, true},
		{`{"displayName":"a","description":"b"}`, true},
		{`{"display_name":"a"}`, true},
		{`{"a":{"b":[1,{"c":2}]},"displayName":"x"}`, true},
		{`{"a":1,"a":2}`, false},
		{`{"o":{"k":1,"k":2}}`, false},
		{`{"displayName":"a"} {"x":1}`, false},
		{`{"displayName":"a"}}`, false},
		{`{"displayName":"a"`, false},
		{`[]`, false},
		{`"str"`, false},
		{`{"displayName":1}`, false},
		{"{\"displayName\":\"\xff\"}", false},
	} {
		var req apitype.CreateAppRequest
		err := decodeJSON([]byte(tc.body), &req)
		if (err == nil) != tc.ok {
			t.Errorf("decodeJSON(%q) = %v, want ok=%v", tc.body, err, tc.ok)
		}
		if err != nil && conncred.ErrorCode(err) != conncred.EInvalid {
			t.Errorf("decodeJSON(%q): code %q, want invalid", tc.body, conncred.ErrorCode(err))
		}
	}
	var req apitype.CreateAppRequest
	if err := decodeJSON([]byte(`{"display_name":"snake","displayName":"camel"}`), &req); err != nil || req.DisplayName != "camel" {
		t.Fatalf("camelCase must win over snake_case: %q, %v", req.DisplayName, err)
	}
}

// FuzzDecodeJSON feeds the request reader arbitrary bodies: it must never
// panic, and every refusal must be an EInvalid with a message.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"displayName":"a"}`, `{"app":{"displayName":"x"},"updateMask":"displayName"}`, `{"a":[{"b":{}}]}`, `{"expires":"720h"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, v := range []any{&apitype.CreateAppRequest{}, &apitype.UpdateAppRequest{}, &apitype.RotateCredentialRequest{}, &apitype.CreateConnectorRequest{}} {
			err := decodeJSON(body, v)
			if err != nil && (conncred.ErrorCode(err) != conncred.EInvalid || conncred.ErrorMessage(err) == "") {
				t.Fatalf("decodeJSON(%q): %v", body, err)
			}
		}
	})
}
