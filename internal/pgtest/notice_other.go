//go:build !linux

package pgtest

import (
	"io"
	"os"
)

// notice returns where Run's line goes: this process's stderr, which
// `go test` shows with -v or when the package fails.
func notice() (w io.Writer, done func()) {
	return os.Stderr, func() {}
}
