package envelope

import (
	"errors"
	"fmt"
	"math/big"
	"reflect"

	"github.com/itchyny/gojq"
)

// Multiplication is the one jq operator that can build a huge value in a
// single step, which the per-run time limit cannot stop (gojq checks it
// between steps): "x" * 2000000000 is 2 GB at once, and squaring a big
// integer a few times is millions of digits. Programs are therefore
// rewritten so that every a * b calls checkedMul, which refuses results
// over the limits and otherwise multiplies as jq does.
const (
	mulFunc = "_hookd_mul"
	// maxRepeatBytes bounds a string repeated by multiplication.
	maxRepeatBytes = 1 << 20
	// maxIntBits bounds an integer product.
	maxIntBits = 4096
)

// errUpdateMul refuses *=, whose multiplication the rewrite cannot reach.
var errUpdateMul = errors.New("*= is not supported in hookd programs; write a |= . * b instead")

// jqMul multiplies as jq does; checkedMul calls it once the operands pass.
var jqMul = func() *gojq.Code {
	q, err := gojq.Parse(`.[0] * .[1]`)
	if err != nil {
		panic(err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		panic(err)
	}
	return code
}()

// rewriteMul replaces, everywhere in q, a * b with _hookd_mul(a; b), and
// refuses *=.
func rewriteMul(q *gojq.Query) error {
	return walkQueries(reflect.ValueOf(q), func(q *gojq.Query) error {
		switch q.Op {
		case gojq.OpUpdateMul:
			return errUpdateMul
		case gojq.OpMul:
			q.Term = &gojq.Term{Type: gojq.TermTypeFunc, Func: &gojq.Func{Name: mulFunc, Args: []*gojq.Query{q.Left, q.Right}}}
			q.Left, q.Right, q.Op = nil, nil, 0
		}
		return nil
	})
}

var queryType = reflect.TypeFor[gojq.Query]()

// walkQueries calls f on every *gojq.Query reachable from v, children
// first (so that a rewritten node's operands are rewritten already).
func walkQueries(v reflect.Value, f func(*gojq.Query) error) error {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		if err := walkQueries(v.Elem(), f); err != nil {
			return err
		}
		if v.Elem().Type() == queryType {
			return f(v.Interface().(*gojq.Query))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				if err := walkQueries(v.Field(i), f); err != nil {
					return err
				}
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if err := walkQueries(v.Index(i), f); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkedMul is _hookd_mul.
func checkedMul(_ any, args []any) any {
	a, b := args[0], args[1]
	if err := checkRepeat(a, b); err != nil {
		return err
	}
	if err := checkRepeat(b, a); err != nil {
		return err
	}
	if x, y := intBits(a), intBits(b); x+y > maxIntBits {
		return fmt.Errorf("jq: an integer product of %d bits is over hookd's limit of %d", x+y, maxIntBits)
	}
	v, ok := jqMul.Run([]any{a, b}).Next()
	if !ok {
		return errors.New("jq: multiplication gave no value")
	}
	return v
}

// checkRepeat refuses s * n when the string would be over maxRepeatBytes.
func checkRepeat(s, n any) error {
	str, ok := s.(string)
	if !ok {
		return nil
	}
	f, ok := gojq.ToFloat64(n)
	if !ok {
		return nil
	}
	if f*float64(len(str)) > maxRepeatBytes {
		return fmt.Errorf("jq: repeating a string of %d bytes %v times is over hookd's limit of %d bytes", len(str), f, maxRepeatBytes)
	}
	return nil
}

// intBits is the size of an integer operand, 0 for other values.
func intBits(v any) int {
	switch x := v.(type) {
	case *big.Int:
		return x.BitLen()
	case int:
		return big.NewInt(int64(x)).BitLen()
	}
	return 0
}
