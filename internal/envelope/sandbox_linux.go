package envelope

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// setWorkerAttrs makes the kernel kill a worker whose parent dies.
func setWorkerAttrs(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// limitWorker bounds the writable memory this process may map beyond what
// it has mapped now, idle, to memory bytes (RLIMIT_DATA: the Go heap,
// stacks and anonymous mappings; the idle Go runtime maps about 80 MiB of
// it, most never touched), and lowers its scheduling priority.
func limitWorker(memory int64) error {
	idle, err := dataSize()
	if err != nil {
		return err
	}
	lim := &syscall.Rlimit{Cur: uint64(idle + memory), Max: uint64(idle + memory)}
	if err := syscall.Setrlimit(syscall.RLIMIT_DATA, lim); err != nil {
		return fmt.Errorf("RLIMIT_DATA: %w", err)
	}
	// Best effort: a nice worker leaves the CPU to hookd when both want it.
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, 0, 10)
	return nil
}

// dataSize is this process's VmData: the writable private memory it maps,
// what RLIMIT_DATA bounds.
func dataSize() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmData:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmData: %w", err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmData in /proc/self/status")
}
