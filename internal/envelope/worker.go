package envelope

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
)

// WorkerMain makes this process a jq worker of a Sandbox when it was
// started as one (HOOKD_JQ_WORKER set), and returns at once otherwise. A
// worker serves requests until its parent closes the pipe or dies, then
// exits; it never returns. hookd's main calls it first thing, and so does
// TestMain in a package whose tests use a Sandbox.
func WorkerMain() {
	if os.Getenv(workerEnv) == "" {
		return
	}
	os.Exit(serveWorker())
}

// serveWorker bounds this process (memory, threads, priority), then
// answers the requests on fd 3 on fd 4. It returns the exit code.
func serveWorker() int {
	memory, err := strconv.ParseInt(os.Getenv(workerMemoryEnv), 10, 64)
	if err != nil || memory <= 0 {
		memory = DefaultSandboxMemory
	}
	if err := limitWorker(memory); err != nil {
		fmt.Fprintf(os.Stderr, "jq worker: %v\n", err)
		return 2
	}
	// One thread runs Go code: a worker is one run at a time. The GC
	// works harder as the heap nears what the limit leaves room for, so
	// that garbage does not count against a program.
	runtime.GOMAXPROCS(1)
	debug.SetMemoryLimit(memory * 3 / 4)
	debug.SetMaxStack(32 << 20)

	in := os.NewFile(3, "jq-requests")
	out := os.NewFile(4, "jq-results")
	if in == nil || out == nil {
		fmt.Fprintln(os.Stderr, "jq worker: started without its pipes")
		return 2
	}
	if _, err := out.Write([]byte{workerReady}); err != nil {
		return 1
	}
	// serve ends when hookd closes the pipe (io.EOF), or on an error.
	if err := serve(bufio.NewReaderSize(in, 64<<10), out, newPrograms(DefaultMaxPrograms)); err != io.EOF {
		fmt.Fprintf(os.Stderr, "jq worker: %v\n", err)
		return 1
	}
	return 0
}

// serve answers requests from r on w until r ends (io.EOF) or fails, and
// returns why: one answer frame per run, written as soon as the run ends,
// so that what a worker killed at its deadline had decided is not lost.
func serve(r io.Reader, w io.Writer, progs *programs) error {
	var in, out []byte
	for {
		frame, err := readFrame(r, in)
		if err != nil {
			return err
		}
		req, err := decodeRequest(frame)
		if err != nil {
			return err
		}
		err = execute(context.Background(), req, progs, func(res runResult) error {
			out = encodeResult(append(out[:0], make([]byte, frameHeader)...), res)
			return writeFrame(w, out)
		})
		if err != nil {
			return err
		}
		// Keep buffers for the next request, unless large.
		in, out = frame[:0], out[:0]
		if cap(in) > 1<<20 {
			in = nil
		}
		if cap(out) > 1<<20 {
			out = nil
		}
	}
}
