//go:build !linux

package envelope

import (
	"errors"
	"os/exec"
)

func setWorkerAttrs(*exec.Cmd) {}

// limitWorker refuses to run: only Linux bounds a worker's memory here.
func limitWorker(int64) error {
	return errors.New("the jq sandbox bounds memory on Linux only")
}
