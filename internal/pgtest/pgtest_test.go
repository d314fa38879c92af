package pgtest_test

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// goTest runs `go test ./testdata/skipping` (package list mode, no -v, as
// `go test ./...` runs each package) with HOOKD_TEST_POSTGRES_DSN set to
// dsn ("" unsets it), and returns what the go command printed.
func goTest(t *testing.T, dsn string, args ...string) string {
	t.Helper()
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "HOOKD_TEST_POSTGRES_DSN=")
	})
	if dsn != "" {
		env = append(env, "HOOKD_TEST_POSTGRES_DSN="+dsn)
	}
	cmd := exec.Command("go", append(append([]string{"test", "-count=1"}, args...), "./testdata/skipping")...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go test: %v\n%s", err, out)
	}
	return string(out)
}

const notice = "skipping: PostgreSQL tests skipped (1): HOOKD_TEST_POSTGRES_DSN is unset\n"

func TestGoTestSaysPostgresTestsSkippedWithoutV(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test")
	}
	out := goTest(t, "")
	if !strings.Contains(out, notice) {
		t.Errorf("go test without -v and without HOOKD_TEST_POSTGRES_DSN printed\n%s\nwant the line %q", out, notice)
	}
	if out := goTest(t, "", "-v"); strings.Count(out, notice) != 1 {
		t.Errorf("go test -v printed\n%s\nwant the line %q once", out, notice)
	}
	// With a server named, nothing skips and nothing is said.
	if out := goTest(t, "postgres://127.0.0.1:1/none"); strings.Contains(out, "skipped") {
		t.Errorf("go test with HOOKD_TEST_POSTGRES_DSN set printed\n%s\nwant no notice", out)
	}
}
