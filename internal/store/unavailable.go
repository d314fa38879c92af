package store

import (
	"context"
	"errors"
	"sync"
)

// ErrUnavailable is in the chain of every error a store returns because it
// cannot serve at the moment, through no fault of the request: the disk is
// full, an I/O error, the database is read-only, busy past its timeout,
// unreachable, out of connections, shutting down, or did not answer in
// time. The same request may succeed later; the API answers 503 with
// Retry-After. Test with errors.Is, or AsUnavailable for the reason.
var ErrUnavailable = errors.New("the store is unavailable")

// UnavailableError is how a backend reports that it is unavailable (see
// ErrUnavailable): errors.Is(err, ErrUnavailable) holds, and Err, the
// backend's own error, stays in the chain for the logs.
type UnavailableError struct {
	// Reason says what is wrong in a few words that a client may be
	// shown, with nothing of the database's internals: "the database is
	// full", "the database is not reachable".
	Reason string
	// Err is the backend's error.
	Err error
}

// Error returns "the store is unavailable: <reason>: <backend's error>".
func (e *UnavailableError) Error() string {
	if e.Err == nil {
		return ErrUnavailable.Error() + ": " + e.Reason
	}
	return ErrUnavailable.Error() + ": " + e.Reason + ": " + e.Err.Error()
}

// Unwrap returns ErrUnavailable and the backend's error.
func (e *UnavailableError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrUnavailable}
	}
	return []error{ErrUnavailable, e.Err}
}

// Unavailable wraps err, a backend's error, as an UnavailableError with the
// reason. An err that already wraps ErrUnavailable is returned as it is.
func Unavailable(reason string, err error) error {
	if errors.Is(err, ErrUnavailable) {
		return err
	}
	return &UnavailableError{Reason: reason, Err: err}
}

// AsUnavailable returns the UnavailableError in err's chain, if any.
func AsUnavailable(err error) (*UnavailableError, bool) {
	var ue *UnavailableError
	if errors.As(err, &ue) {
		return ue, true
	}
	return nil, false
}

// Classify returns err wrapped as an UnavailableError when reason, a
// backend's classifier, says it means that the store is unavailable, and
// err as it is otherwise (nil stays nil).
func Classify(err error, reason func(error) (string, bool)) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	if r, ok := reason(err); ok {
		return &UnavailableError{Reason: r, Err: err}
	}
	return err
}

// WriteHealth is what a backend remembers of its writes for Ready: a write
// that failed because the store was unavailable makes the store not ready,
// until a probe write succeeds. (A later write of the store's own does not
// clear it: a write that changes rows in place can succeed while every
// write that needs more room fails, as on a full disk.) The zero value is
// ready. It is safe for concurrent use.
type WriteHealth struct {
	mu     sync.Mutex
	failed error  // the last unavailability failure; nil: none since the last good probe
	gen    uint64 // counts the failures recorded

	probing sync.Mutex // one probe at a time
}

// Record notes the outcome of a write: an error that wraps ErrUnavailable
// makes the store not ready; any other outcome changes nothing.
func (h *WriteHealth) Record(err error) {
	if !errors.Is(err, ErrUnavailable) {
		return
	}
	h.mu.Lock()
	h.failed = err
	h.gen++
	h.mu.Unlock()
}

// Failed returns the failure that makes the store not ready, nil if there
// is none.
func (h *WriteHealth) Failed() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failed
}

// Check is a backend's Ready: ping must succeed; then, if a write has
// failed since the last good probe, probe (a write that needs room, as
// the failed one may have) must succeed, which makes the store ready
// again. Concurrent checks share one probe. The error is ping's, or the
// probe's (recorded), or, if another write failed while the probe ran,
// that write's.
func (h *WriteHealth) Check(ctx context.Context, ping, probe func(context.Context) error) error {
	if err := ping(ctx); err != nil {
		return err
	}
	if h.Failed() == nil {
		return nil
	}
	h.probing.Lock()
	defer h.probing.Unlock()
	h.mu.Lock()
	failed, gen := h.failed, h.gen
	h.mu.Unlock()
	if failed == nil {
		return nil // a probe that ran while this one waited succeeded
	}
	if err := probe(ctx); err != nil {
		h.Record(err)
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gen != gen {
		return h.failed // a write failed while the probe ran
	}
	h.failed = nil
	return nil
}
