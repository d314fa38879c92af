//go:build !linux

package main

import (
	"errors"
	"os/exec"
	"time"
)

var errNoProc = errors.New("hookd-bench measures processes through /proc: Linux only")

func procCPU(int) (time.Duration, error)    { return 0, errNoProc }
func procStatus(int, string) (int64, error) { return 0, errNoProc }
func machineBusy() (time.Duration, error)   { return 0, errNoProc }
func setParentDeathSignal(*exec.Cmd)        {}
func procIO(int) (ioCounters, error)        { return ioCounters{}, errNoProc }
