package pgtest

import (
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
)

// notice returns where Run's line goes: the standard error of the go
// command that started this test binary. `go test` in package list mode
// (./...) keeps a passing package's output to itself, so without -v only
// the go command's own stderr reaches the terminal or the CI log. With -v
// (or when the parent is not reachable) it is this process's stderr,
// which go test then shows.
//
// The file is opened with syscall.Open, not os.OpenFile: the go command
// records the files a test opens through package os and keys its test
// cache on them, and this one would make the result never cached.
func notice() (w io.Writer, done func()) {
	if testing.Verbose() {
		return os.Stderr, func() {}
	}
	fd, err := syscall.Open(fmt.Sprintf("/proc/%d/fd/2", os.Getppid()), syscall.O_WRONLY|syscall.O_APPEND|syscall.O_CLOEXEC, 0)
	if err != nil {
		return os.Stderr, func() {}
	}
	f := os.NewFile(uintptr(fd), "go command's stderr")
	return f, func() { _ = f.Close() }
}
