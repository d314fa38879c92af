package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// node is one hookd process, restartable on the same address and database.
type node struct {
	idx    int
	bin    string
	addr   string
	base   string
	env    []string
	logDir string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	up     atomic.Bool
	starts int
}

var apiClient = &http.Client{Timeout: 10 * time.Second}

func (n *node) logPath() string {
	return filepath.Join(n.logDir, fmt.Sprintf("node%d.log", n.idx))
}

// start runs the process and waits for /readyz.
func (n *node) start() error {
	f, err := os.OpenFile(n.logPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.starts++
	fmt.Fprintf(f, "---- start %d at %s\n", n.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(n.bin, "serve")
	cmd.Env = append(append(os.Environ(), n.env...), "HOOKD_ADDR="+n.addr)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		n.mu.Unlock()
		f.Close()
		return err
	}
	done := make(chan struct{})
	n.cmd, n.done = cmd, done
	n.mu.Unlock()
	go func() { _ = cmd.Wait(); f.Close(); n.up.Store(false); close(done) }()

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(n.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				n.up.Store(true)
				return nil
			}
		}
		select {
		case <-done:
			return fmt.Errorf("node %d exited at start; see %s:\n%s", n.idx, n.logPath(), n.logTail(2000))
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("node %d not ready after 30s", n.idx)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill SIGKILLs the process and waits for it to exit.
func (n *node) kill() {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	n.up.Store(false)
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

func (n *node) logTail(max int) string {
	b, _ := os.ReadFile(n.logPath())
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

func (n *node) printLogTail(max int) {
	fmt.Printf("---- node %d log tail ----\n%s\n", n.idx, n.logTail(max))
}

// call makes an API request and decodes a JSON answer into out.
func (n *node) call(method, path string, body any, out any) (int, error) {
	code, _, err := n.callH(method, path, body, out)
	return code, err
}

func (n *node) callH(method, path string, body any, out any) (int, http.Header, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, n.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := apiClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, resp.Header, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
	}
	if resp.StatusCode/100 != 2 && out != nil {
		return resp.StatusCode, resp.Header, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, resp.Header, nil
}

// anyCall makes a read on the first live node that answers.
func anyCall(nodes []*node, path string, out any) error {
	var last error
	for range 3 {
		for _, n := range nodes {
			if !n.up.Load() {
				continue
			}
			code, err := n.call("GET", path, nil, out)
			if err == nil && code == 200 {
				return nil
			}
			last = fmt.Errorf("node %d: %d %v", n.idx, code, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if last == nil {
		last = fmt.Errorf("no live node")
	}
	return last
}
