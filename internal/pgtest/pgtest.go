// Package pgtest is what hookd's tests that need PostgreSQL share: the
// server they run on, named by HOOKD_TEST_POSTGRES_DSN, and the line that
// says, at the end of a package's run, that they were skipped without it.
//
// `go test ./...` shows nothing of a passing package but its "ok" line
// (t.Skip messages need -v), so a package whose PostgreSQL tests skip
// would pass silently. A test package with such tests calls DSN to get the
// server (or skip), and runs its tests with Run from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Run(m, "pgstore")) }
package pgtest

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"testing"
)

// EnvDSN names the environment variable that holds the PostgreSQL
// connection URL the tests use. They may create and drop schemas (and,
// for some, databases) in that database.
const EnvDSN = "HOOKD_TEST_POSTGRES_DSN"

// skipped counts the tests DSN skipped in this test binary.
var skipped atomic.Int64

// DSN returns the PostgreSQL URL in HOOKD_TEST_POSTGRES_DSN, or, when it
// is unset, skips t (counting it for Run's notice). what says what is
// skipped, for -v: "the PostgreSQL cluster test".
func DSN(t testing.TB, what string) string {
	t.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		skipped.Add(1)
		t.Skipf("%s is not set: skipping %s", EnvDSN, what)
	}
	return dsn
}

// Run runs m's tests and returns the exit code for os.Exit. When any test
// skipped for want of HOOKD_TEST_POSTGRES_DSN, it says so in one line,
// "<pkg>: PostgreSQL tests skipped (3): HOOKD_TEST_POSTGRES_DSN is unset",
// where `go test` shows it without -v (see notice).
func Run(m *testing.M, pkg string) int {
	code := m.Run()
	if n := skipped.Load(); n > 0 {
		line := fmt.Sprintf("%s: PostgreSQL tests skipped (%d): %s is unset\n", pkg, n, EnvDSN)
		w, done := notice()
		_, _ = io.WriteString(w, line)
		done()
	}
	return code
}
