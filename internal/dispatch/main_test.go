package dispatch

import (
	"os"
	"testing"

	"github.com/hookd/hookd/internal/envelope"
	"github.com/hookd/hookd/internal/pgtest"
)

// TestMain lets this test binary serve as the jq sandbox's worker process,
// as hookd's main does.
func TestMain(m *testing.M) {
	envelope.WorkerMain()
	os.Exit(pgtest.Run(m, "dispatch"))
}
