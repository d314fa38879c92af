// Package skipping is a test package with one PostgreSQL test, which
// pgtest's test runs with `go test` to see what it shows.
package skipping

import (
	"os"
	"testing"

	"github.com/hookd/hookd/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Run(m, "skipping")) }

func TestNeedsPostgres(t *testing.T) {
	pgtest.DSN(t, "the PostgreSQL test")
}

func TestDoesNot(t *testing.T) {}
