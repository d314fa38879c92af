package envelope

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

// The wire format between hookd and its jq worker processes (see Sandbox).
// A frame is a 4-byte big-endian length and that many bytes. A request
// frame holds one runRequest; the answer is a frame per run:
//
//	request: kind u8, timeout, budget (ns, uvarint), maxBytes (uvarint),
//	         inputs (uvarint count, each a Context), runs (uvarint count,
//	         each: program source, input index)
//	answer:  one frame per run, in order: code u8, payload bytes
//
// Strings and byte strings are a uvarint length and the bytes.

// maxFrame bounds a frame either side reads: far above any request hookd
// makes (event data is bounded by the API's body limits) and any answer (a
// body is at most Options.MaxBytes).
const maxFrame = 1 << 30

// Run kinds.
const (
	kindEnvelope byte = 1 // yield exactly one value: the body
	kindFilter   byte = 2 // the first output's truthiness
)

// runRequest is one call to a runner: runs of jq programs, each on one of
// inputs, all of the same kind.
type runRequest struct {
	kind     byte
	timeout  time.Duration // each run's limit
	budget   time.Duration // all runs' limit together; 0: none
	maxBytes int           // largest envelope body
	inputs   []*Context
	runs     []runSpec
}

// runSpec is one program run on inputs[input].
type runSpec struct {
	src   string
	input int
}

// Result codes of a run.
const (
	resultOK        byte = iota // payload: the body, or 1 (match) / 0 (no match)
	resultFailed                // payload: the message; a runtime or compile error
	resultNoValue               // the envelope yielded no value
	resultSeveral               // the envelope yielded several values
	resultTimeout               // the run's time limit; payload: the message
	resultUndecided             // the request's budget ended before this run did
)

// runResult is the outcome of one run.
type runResult struct {
	code    byte
	payload []byte
}

func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func appendBytes(b, s []byte) []byte {
	return append(appendUvarint(b, uint64(len(s))), s...)
}

func appendStr(b []byte, s string) []byte {
	return append(appendUvarint(b, uint64(len(s))), s...)
}

// encodeRequest appends req's frame body to b. Inputs that share an
// event (and app) share its encoding: a filter request for a hundred
// endpoints sends the event's data once.
func encodeRequest(b []byte, req *runRequest) []byte {
	b = append(b, req.kind)
	b = appendUvarint(b, uint64(req.timeout))
	b = appendUvarint(b, uint64(req.budget))
	b = appendUvarint(b, uint64(req.maxBytes))
	type source struct {
		ev  *hook.Event
		app *hook.App
	}
	index := make(map[source]int, 1)
	refs := make([]int, len(req.inputs))
	var events []*Context
	for i, c := range req.inputs {
		k := source{c.Event, c.App}
		n, ok := index[k]
		if !ok {
			n = len(events)
			index[k] = n
			events = append(events, c)
		}
		refs[i] = n
	}
	b = appendUvarint(b, uint64(len(events)))
	for _, c := range events {
		ev := c.Event
		b = appendStr(b, ev.ID)
		b = appendStr(b, ev.AppID)
		b = appendStr(b, ev.Type)
		b = binary.AppendVarint(b, ev.CreatedAt.UnixNano())
		b = appendBytes(b, ev.Data)
		b = appendBytes(b, ev.PreviousAttributes)
		if ev.Livemode {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = appendStr(b, ev.RequestID)
		b = appendStr(b, apiVersion(c))
		var appID, appUID, appName string
		if c.App != nil {
			appID, appUID, appName = c.App.ID, c.App.UID, c.App.Name
		}
		b = appendStr(b, appID)
		b = appendStr(b, appUID)
		b = appendStr(b, appName)
	}
	b = appendUvarint(b, uint64(len(req.inputs)))
	for i, c := range req.inputs {
		b = appendUvarint(b, uint64(refs[i]))
		b = appendStr(b, c.EndpointID)
		b = appendStr(b, c.EndpointUID)
		b = appendStr(b, c.DeliveryID)
		b = binary.AppendVarint(b, int64(c.Attempt))
	}
	b = appendUvarint(b, uint64(len(req.runs)))
	for _, r := range req.runs {
		b = appendStr(b, r.src)
		b = appendUvarint(b, uint64(r.input))
	}
	return b
}

// errWire is a frame that does not decode.
var errWire = errors.New("envelope: malformed sandbox frame")

// wireReader decodes a frame body; the first failure sticks.
type wireReader struct {
	b   []byte
	err error
}

func (r *wireReader) byte() byte {
	if r.err != nil || len(r.b) < 1 {
		r.err = errWire
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *wireReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errWire
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *wireReader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errWire
		return 0
	}
	r.b = r.b[n:]
	return v
}

// count reads a count of items each at least min bytes long, refusing
// one the rest of the frame cannot hold.
func (r *wireReader) count(min int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/min) {
		r.err = errWire
		return 0
	}
	return int(n)
}

func (r *wireReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errWire
		return nil
	}
	s := r.b[:n:n]
	r.b = r.b[n:]
	return s
}

func (r *wireReader) str() string { return string(r.bytes()) }

// decodeRequest decodes a request frame body.
func decodeRequest(b []byte) (*runRequest, error) {
	r := &wireReader{b: b}
	req := &runRequest{kind: r.byte()}
	req.timeout = time.Duration(r.uvarint())
	req.budget = time.Duration(r.uvarint())
	req.maxBytes = int(min(r.uvarint(), maxFrame))
	events := make([]*Context, r.count(16))
	for i := range events {
		ev := &hook.Event{ID: r.str(), AppID: r.str(), Type: r.str()}
		ev.CreatedAt = time.Unix(0, r.varint()).UTC()
		if d := r.bytes(); len(d) > 0 {
			ev.Data = d
		}
		if p := r.bytes(); len(p) > 0 {
			ev.PreviousAttributes = p
		}
		ev.Livemode = r.byte() == 1
		ev.RequestID = r.str()
		ev.APIVersion = r.str()
		events[i] = &Context{Event: ev, App: &hook.App{ID: r.str(), UID: r.str(), Name: r.str()}}
	}
	req.inputs = make([]*Context, r.count(5))
	for i := range req.inputs {
		n := r.uvarint()
		if r.err == nil && n >= uint64(len(events)) {
			r.err = errWire
			break
		}
		ec := events[n]
		req.inputs[i] = &Context{Event: ec.Event, App: ec.App, EndpointID: r.str(), EndpointUID: r.str(),
			DeliveryID: r.str(), Attempt: int(r.varint())}
	}
	req.runs = make([]runSpec, r.count(2))
	for i := range req.runs {
		req.runs[i] = runSpec{src: r.str(), input: int(r.uvarint())}
		if r.err == nil && req.runs[i].input >= len(req.inputs) {
			r.err = errWire
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errWire
	}
	if r.err != nil {
		return nil, r.err
	}
	return req, nil
}

// encodeResult appends the answer frame body of one run to b.
func encodeResult(b []byte, res runResult) []byte {
	return appendBytes(append(b, res.code), res.payload)
}

// decodeResult decodes the answer frame body of one run.
func decodeResult(b []byte) (runResult, error) {
	r := &wireReader{b: b}
	// A copy: b is the sandbox's buffer, used again by its next read.
	res := runResult{code: r.byte(), payload: bytes.Clone(r.bytes())}
	if r.err == nil && (len(r.b) != 0 || res.code > resultUndecided) {
		r.err = errWire
	}
	return res, r.err
}

// frameHeader is the room a frame's length takes at the start of a frame
// buffer: encode after it, then writeFrame.
const frameHeader = 4

// writeFrame writes frame, whose first frameHeader bytes are reserved for
// the length of the rest, in one write.
func writeFrame(w io.Writer, frame []byte) error {
	binary.BigEndian.PutUint32(frame, uint32(len(frame)-frameHeader))
	_, err := w.Write(frame)
	return err
}

// readFrame reads one frame into buf's storage (grown as needed).
func readFrame(r io.Reader, buf []byte) ([]byte, error) {
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > maxFrame {
		return nil, errWire
	}
	if cap(buf) < int(size) {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	_, err := io.ReadFull(r, buf)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return buf, err
}
