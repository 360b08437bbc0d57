package federation

import (
	"errors"
	"fmt"
	"strings"

	"github.com/conncred/conncred"
	"github.com/google/cel-go/cel"
)

// Bounds of a trust's condition. The source limit keeps a stored condition
// readable and its compile cheap; the cost limit bounds what one evaluation
// may spend whatever the claims hold (a subject token is at most
// maxSubjectTokenBytes, so its lists and strings are bounded too): a
// condition that would exceed it is refused at evaluation, never run long.
const (
	maxConditionBytes = 4096
	conditionCost     = 10_000 // CEL cost units; a typical condition costs < 20
)

// conditionEnv is the CEL environment of every condition: one variable,
// claims, the subject token's claim set as a map (nested objects such as
// Kubernetes' "kubernetes.io" are maps too).
var conditionEnv = func() *cel.Env {
	env, err := cel.NewEnv(
		cel.Variable("claims", cel.MapType(cel.StringType, cel.DynType)),
		cel.ParserExpressionSizeLimit(maxConditionBytes),
		cel.ParserRecursionLimit(50),
	)
	if err != nil {
		panic(err) // a static environment: failing here is a programming error
	}
	return env
}()

// condition is a compiled, type-checked trust condition.
type condition struct {
	prg cel.Program
}

// compileCondition compiles and type-checks src. Its error is an EInvalid
// whose message points at the mistake (line and column, as CEL reports it).
func compileCondition(src string) (*condition, error) {
	if strings.TrimSpace(src) == "" {
		// The issuer alone is not enough: GitHub's, for one, signs tokens
		// for every repository in the world.
		return nil, conncred.Errorf(conncred.EInvalid, "condition is required: a CEL expression over the subject token's claims, e.g. claims.repository == \"acme/connectors\" && claims.ref == \"refs/heads/main\"")
	}
	if len(src) > maxConditionBytes {
		return nil, conncred.Errorf(conncred.EInvalid, "condition is %d bytes; at most %d are allowed", len(src), maxConditionBytes)
	}
	ast, iss := conditionEnv.Compile(src)
	if iss != nil && iss.Err() != nil {
		return nil, conncred.Errorf(conncred.EInvalid, "condition does not compile: %s", celMessage(iss.Err()))
	}
	if !ast.OutputType().IsExactType(cel.BoolType) && !ast.OutputType().IsExactType(cel.DynType) {
		return nil, conncred.Errorf(conncred.EInvalid, "condition must be a boolean expression, but it is of type %s", ast.OutputType())
	}
	prg, err := conditionEnv.Program(ast, cel.CostLimit(conditionCost), cel.InterruptCheckFrequency(100))
	if err != nil {
		return nil, conncred.Errorf(conncred.EInvalid, "condition cannot be prepared: %s", celMessage(err))
	}
	return &condition{prg: prg}, nil
}

// celMessage makes CEL's multi-line report one line ("ERROR: <input>:1:9:
// undeclared reference to 'claim' | claim.sub == 'x' | ........^").
func celMessage(err error) string {
	s := strings.ReplaceAll(strings.TrimSpace(err.Error()), "\n", " | ")
	return strings.ReplaceAll(s, "<input>", "condition")
}

// errConditionFalse and errConditionError are the two refusals of eval. The
// exchange tells the client which one (never the condition itself).
var (
	errConditionFalse = errors.New("the trust's condition is false for this subject token")
	errConditionError = errors.New("the trust's condition could not be evaluated on this subject token (a claim it reads is missing or of another type, or it exceeded its cost limit)")
)

// eval runs the condition on claims: nil when it is true.
func (c *condition) eval(claims map[string]any) error {
	out, _, err := c.prg.Eval(map[string]any{"claims": claims})
	if err != nil {
		return fmt.Errorf("%w: %v", errConditionError, err)
	}
	if b, ok := out.Value().(bool); !ok || !b {
		return errConditionFalse
	}
	return nil
}

// TestCondition compiles src and evaluates it on claims, as the exchange
// would: matched is true only when it evaluates to true. A compile error is
// the EInvalid compileCondition returns; an evaluation error is returned as
// is (it names no trust's configuration, only the expression given).
func TestCondition(src string, claims map[string]any) (matched bool, err error) {
	c, err := compileCondition(src)
	if err != nil {
		return false, err
	}
	switch err := c.eval(claims); {
	case err == nil:
		return true, nil
	case errors.Is(err, errConditionFalse):
		return false, nil
	default:
		return false, err
	}
}
