package federation

import (
	"errors"
	"strings"
	"testing"

	"github.com/conncred/conncred"
)

func TestCompileConditionRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"empty", "  ", "condition is required"},
		{"syntax", `claims.sub ==`, "condition:1:"},
		{"undeclared", `claim.sub == "x"`, "undeclared reference"},
		{"not bool", `claims.sub + "x"`, "must be a boolean"},
		{"too long", strings.Repeat("a", maxConditionBytes+1), "at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compileCondition(tc.src)
			if got := conncred.ErrorCode(err); got != conncred.EInvalid {
				t.Fatalf("code: got %q (%v), want %q", got, err, conncred.EInvalid)
			}
			if got := conncred.ErrorMessage(err); !strings.Contains(got, tc.want) {
				t.Errorf("message: got %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

func TestConditionEval(t *testing.T) {
	gh := map[string]any{"repository": "acme/connectors", "ref": "refs/heads/main", "run_attempt": "1"}
	k8s := map[string]any{"sub": "system:serviceaccount:sync:baton", "kubernetes.io": map[string]any{"namespace": "sync"}}
	for _, tc := range []struct {
		name, src string
		claims    map[string]any
		want      error
	}{
		{"github true", `claims.repository == "acme/connectors" && claims.ref == "refs/heads/main"`, gh, nil},
		{"github false", `claims.repository == "acme/other"`, gh, errConditionFalse},
		{"missing claim", `claims.environment == "prod"`, gh, errConditionError},
		{"nested", `claims["kubernetes.io"].namespace == "sync"`, k8s, nil},
		{"has", `has(claims.environment) && claims.environment == "prod"`, gh, errConditionFalse},
		{"cost limit", `[1,2,3,4,5,6,7,8,9,10].all(a, [1,2,3,4,5,6,7,8,9,10].all(b, [1,2,3,4,5,6,7,8,9,10].all(c, [1,2,3,4,5,6,7,8,9,10].all(d, a+b+c+d > 0))))`, gh, errConditionError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := compileCondition(tc.src)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.eval(tc.claims); !errors.Is(got, tc.want) {
				t.Errorf("eval: got %v, want %v", got, tc.want)
			}
		})
	}
}
