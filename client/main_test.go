package client_test

import (
	"os"
	"testing"

	"github.com/hookd/hookd/internal/envelope"
	"github.com/hookd/hookd/internal/pgtest"
)

// TestMain lets this test binary serve as the jq sandbox's worker process
// of the hookd it runs (as hookd's main does), and says when the
// PostgreSQL tests were skipped.
func TestMain(m *testing.M) {
	envelope.WorkerMain()
	os.Exit(pgtest.Run(m, "client"))
}
