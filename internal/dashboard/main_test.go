package dashboard_test

import (
	"os"
	"testing"

	"github.com/hookd/hookd/internal/envelope"
)

func TestMain(m *testing.M) {
	envelope.WorkerMain() // the jq sandbox's workers run this test binary
	code := m.Run()
	removeRenderFixtures()
	os.Exit(code)
}
