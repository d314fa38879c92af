package sqlitestore

import (
	"database/sql/driver"
	"strings"

	"modernc.org/sqlite"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// typeMatchFunc is the SQL function hookd_type_match(pattern, type): 1 when
// the event type matches the pattern (hook.MatchEventTypes), else 0.
const typeMatchFunc = "hookd_type_match"

func init() {
	sqlite.MustRegisterDeterministicScalarFunction(typeMatchFunc, 2,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			p, _ := args[0].(string)
			t, _ := args[1].(string)
			if hook.MatchEventTypes([]string{p}, t) {
				return int64(1), nil
			}
			return int64(0), nil
		})
}

// typeCond returns the condition that col (an event type) matches one of
// patterns, appending its arguments, or "" when it matches every type.
// Each pattern's literal leading segments bound col to a range, so that an
// index on col serves it; hookd_type_match decides only within the range.
func typeCond(col string, patterns []string, args *[]any) string {
	if store.MatchesEveryType(patterns) {
		return "" // before any argument is appended
	}
	var ors []string
	for _, tp := range store.CompileTypePatterns(patterns) {
		var and []string
		switch {
		case tp.Exact:
			and = append(and, col+" = ?")
			*args = append(*args, tp.Pattern)
		default:
			if tp.Lo != "" {
				and = append(and, col+" >= ?", col+" < ?")
				*args = append(*args, tp.Lo, tp.Hi)
			}
			if !tp.PrefixOnly {
				and = append(and, typeMatchFunc+"(?, "+col+")")
				*args = append(*args, tp.Pattern)
			}
		}
		ors = append(ors, "("+strings.Join(and, " AND ")+")")
	}
	if len(ors) == 0 {
		return ""
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}
