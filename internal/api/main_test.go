package api_test

import (
	"os"
	"testing"

	"github.com/hookd/hookd/internal/pgtest"
)

// TestMain says, at the end, when the PostgreSQL test skipped for want of
// a server.
func TestMain(m *testing.M) { os.Exit(pgtest.Run(m, "api")) }
