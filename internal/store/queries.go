package store

import (
	"slices"
	"strings"

	"github.com/hookd/hookd/internal/hook"
)

// TypePattern is one event type pattern of a list filter (see
// hook.MatchEventTypes: '*' matches one segment, a final '*' one or more),
// prepared for a backend's SQL. Every form is exact: a backend's condition
// matches the names the pattern does, no more.
type TypePattern struct {
	// Pattern is the pattern as given.
	Pattern string
	// All is set for "*", which matches every type: no condition.
	All bool
	// Exact is set for a name without '*': type = Pattern.
	Exact bool
	// Lo and Hi bound the names that may match, Lo <= type < Hi: the
	// pattern's literal leading segments with their dot ("order." and
	// "order/" for order.*), so that an index on type serves the
	// pattern. Both are "" for a pattern starting with '*'.
	Lo, Hi string
	// PrefixOnly is set when the range alone is the pattern: literal
	// segments and a final '*' (order.*, order.payment.*).
	PrefixOnly bool
	// Regexp is a POSIX regular expression matching exactly the names the
	// pattern matches, for backends that have one (PostgreSQL's ~).
	Regexp string
}

// CompileTypePatterns prepares valid patterns (hook.ValidateEventTypePatterns)
// for SQL.
func CompileTypePatterns(patterns []string) []TypePattern {
	out := make([]TypePattern, 0, len(patterns))
	for _, p := range patterns {
		tp := TypePattern{Pattern: p}
		segs := strings.Split(p, ".")
		switch {
		case p == "*":
			tp.All = true
		case !strings.Contains(p, "*"):
			tp.Exact = true
		default:
			lit := 0
			for lit < len(segs) && segs[lit] != "*" {
				lit++
			}
			if lit > 0 {
				tp.Lo = strings.Join(segs[:lit], ".") + "."
				tp.Hi = tp.Lo[:len(tp.Lo)-1] + "/" // '/' follows '.'
			}
			tp.PrefixOnly = lit > 0 && lit == len(segs)-1
		}
		var re strings.Builder
		re.WriteString("^")
		for i, s := range segs {
			if i > 0 {
				re.WriteString(`\.`)
			}
			switch {
			case s == "*" && i == len(segs)-1:
				re.WriteString(".+") // one or more segments
			case s == "*":
				re.WriteString("[^.]+")
			default:
				re.WriteString(s) // letters, digits, '_' and '-': literal
			}
		}
		re.WriteString("$")
		tp.Regexp = re.String()
		out = append(out, tp)
	}
	return out
}

// StatusClassCondition is the SQL condition on an attempt's
// response_status column that keeps a status class (one of
// StatusClasses); an unknown class is an EInvalid error on "status".
func StatusClassCondition(class string) (string, error) {
	switch class {
	case StatusClass2xx:
		return "response_status BETWEEN 200 AND 299", nil
	case StatusClass3xx:
		return "response_status BETWEEN 300 AND 399", nil
	case StatusClass4xx:
		return "response_status BETWEEN 400 AND 499", nil
	case StatusClass5xx:
		return "response_status BETWEEN 500 AND 599", nil
	case StatusClassError:
		return "response_status = 0", nil
	}
	return "", hook.Errorf(hook.EInvalid, "status", "must be one of 2xx, 3xx, 4xx, 5xx and error")
}

// MaxMergedTypes bounds the event types a type filter of ListEvents is
// resolved to: up to this many, a backend reads each type's newest events
// from its index and merges them (each page reads at most this many
// pages' worth of rows, whatever the table's size); beyond, it filters an
// ordered scan of the app's events instead.
const MaxMergedTypes = 64

// DistinctTypesSQL lists the distinct types of an app's events ($1 or ?1,
// per the backend's placeholder) in name order, at most ?2 of them, with
// one index seek per type (a loose index scan over an index on
// (app_id, type)). PostgreSQL's SQL ("?N" is rewritten by pgstore);
// SQLite's index is keyed on the app's seq, so sqlitestore has its own.
const DistinctTypesSQL = `WITH RECURSIVE t(type) AS (
		SELECT min(type) FROM events WHERE app_id = ?1
		UNION ALL
		SELECT (SELECT min(e.type) FROM events e WHERE e.app_id = ?1 AND e.type > t.type) FROM t WHERE t.type IS NOT NULL
	)
	SELECT type FROM t WHERE type IS NOT NULL LIMIT ?2`

// MatchesEveryType reports whether a type filter keeps every type: it has
// no pattern, or "*".
func MatchesEveryType(patterns []string) bool {
	return len(patterns) == 0 || slices.Contains(patterns, "*")
}

// MatchingTypes returns those of types that match any of patterns.
func MatchingTypes(types, patterns []string) []string {
	var out []string
	for _, t := range types {
		if hook.MatchEventTypes(patterns, t) {
			out = append(out, t)
		}
	}
	return out
}
