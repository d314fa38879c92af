package dispatch

import (
	"os"
	"testing"

	"github.com/hookd/hookd/internal/envelope"
)

// TestMain lets this test binary serve as the jq sandbox's worker process,
// as hookd's main does.
func TestMain(m *testing.M) {
	envelope.WorkerMain()
	os.Exit(m.Run())
}
