package main

import (
	"fmt"
	"os"
)

// procIO reads /proc/<pid>/io: what the process has read and written so
// far, through system calls and to storage.
func procIO(pid int) (ioCounters, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return ioCounters{}, err
	}
	return parseProcIO(b)
}
