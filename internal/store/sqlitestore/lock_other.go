//go:build !unix

package sqlitestore

import (
	"errors"
	"os"
)

func lockFile(path string) (*os.File, error) {
	return nil, errors.New("sqlitestore: file locking is not supported on this platform")
}

func unlockFile(f *os.File) error { return nil }
