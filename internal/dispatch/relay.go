package dispatch

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/webhook"
)

// Relay carries the deliveries of listen endpoints (hook.EndpointKindListen)
// to the `hookd listen` streams attached to this node, instead of an HTTP
// POST. Everything else of an attempt (rendering, signing, recording,
// scheduling, health) stays the dispatcher's: a relayed attempt is recorded
// like any other, with the status the developer's local server answered.
type Relay interface {
	// Attached lists the listen endpoints whose streams this node holds:
	// the only listen endpoints whose deliveries it claims.
	Attached() []string
	// Holds reports whether this node holds the endpoint's stream.
	Holds(endpointID string) bool
	// Relay sends one request down the endpoint's stream and waits for
	// its answer until ctx is done. An endpoint whose stream is not held
	// here is ErrNotAttached.
	Relay(ctx context.Context, req *RelayRequest) (*RelayAnswer, error)
}

// ErrNotAttached is Relay's error for an endpoint whose stream this node
// does not hold (it ended, or is held by another node).
var ErrNotAttached = errors.New("no hookd listen stream is attached to this endpoint on this node")

// RelayRequest is one signed delivery for a listen endpoint: what an HTTP
// endpoint would have been POSTed.
type RelayRequest struct {
	EndpointID string
	DeliveryID string
	EventID    string
	EventType  string
	// Attempt is this attempt's number, from 1.
	Attempt int
	// Header holds the request's headers: Content-Type, webhook-id,
	// webhook-timestamp, the signature and the endpoint's custom headers.
	Header http.Header
	Body   []byte
}

// RelayAnswer is what the developer's local server answered, as the CLI
// reports it. Status 0 with ErrorKind set: the CLI could not get an answer
// (the local URL refused the connection, timed out, ...).
type RelayAnswer struct {
	Status int
	Body   []byte
	// ErrorKind is one of hook.ErrorKind* when Status is 0; Error says
	// what went wrong.
	ErrorKind string
	Error     string
}

// requestHeader builds the headers of one delivery to ep: its custom
// headers, then hookd's (which they cannot override), webhook-id and
// webhook-timestamp, and the signature headers.
func (d *Dispatcher) requestHeader(ep *hook.Endpoint, j *store.Job, sig []header, now time.Time) http.Header {
	h := http.Header{}
	for k, v := range ep.Headers {
		if hook.SendableHeader(k) { // not an Upgrade or Expect stored before they were refused
			h.Set(k, v)
		}
	}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", d.cfg.UserAgent)
	h[webhook.HeaderID] = []string{j.Event.ID}
	h[webhook.HeaderTimestamp] = []string{strconv.FormatInt(now.Unix(), 10)}
	for _, s := range sig {
		h[s.name] = []string{s.value}
	}
	return h
}

// relay hands one signed delivery to a listen endpoint's stream and
// classifies the answer as send does an HTTP response.
func (d *Dispatcher) relay(ep *hook.Endpoint, j *store.Job, body []byte, sig []header, now time.Time) (hook.Outcome, []byte, string) {
	if d.cfg.Relay == nil {
		return hook.Outcome{ErrorKind: hook.ErrorKindRefused}, nil, ErrNotAttached.Error()
	}
	ctx, cancel := context.WithTimeout(d.attemptCtx, d.cfg.AttemptTimeout)
	defer cancel()
	ans, err := d.cfg.Relay.Relay(ctx, &RelayRequest{
		EndpointID: ep.ID, DeliveryID: j.DeliveryID, EventID: j.Event.ID, EventType: j.Event.Type,
		Attempt: j.AttemptCount + 1, Header: d.requestHeader(ep, j, sig, now), Body: body,
	})
	switch {
	case errors.Is(err, ErrNotAttached):
		return hook.Outcome{ErrorKind: hook.ErrorKindRefused}, nil, err.Error()
	case err != nil && ctx.Err() != nil:
		return hook.Outcome{ErrorKind: hook.ErrorKindTimeout}, nil, "no answer from the hookd listen stream in time: " + err.Error()
	case err != nil:
		return hook.Outcome{ErrorKind: hook.ErrorKindNetwork}, nil, err.Error()
	}
	respBody := ans.Body
	if len(respBody) > hook.MaxResponseBodyBytes {
		respBody = respBody[:hook.MaxResponseBodyBytes]
	}
	if ans.Status == 0 {
		kind := ans.ErrorKind
		if !validErrorKind(kind) {
			kind = hook.ErrorKindNetwork
		}
		return hook.Outcome{ErrorKind: kind}, nil, "hookd listen: " + ans.Error
	}
	out := hook.Outcome{StatusCode: ans.Status}
	if ans.Status < 200 || ans.Status > 299 {
		out.ErrorKind = hook.ErrorKindStatus
		return out, respBody, "HTTP " + strconv.Itoa(ans.Status) + " (hookd listen)"
	}
	return out, respBody, ""
}

// validErrorKind reports whether kind is one a CLI may report for a local
// request that got no answer.
func validErrorKind(kind string) bool {
	switch kind {
	case hook.ErrorKindTimeout, hook.ErrorKindRefused, hook.ErrorKindDNS, hook.ErrorKindTLS, hook.ErrorKindNetwork:
		return true
	}
	return false
}

// listenAttached returns the listen endpoints whose streams this node holds.
func (d *Dispatcher) listenAttached() []string {
	if d.cfg.Relay == nil {
		return nil
	}
	return d.cfg.Relay.Attached()
}

// holdsListen reports whether this node may send ep's deliveries: any
// http endpoint, and the listen endpoints whose streams it holds.
func (d *Dispatcher) holdsListen(ep *hook.Endpoint) bool {
	if !ep.IsListen() {
		return true
	}
	return d.cfg.Relay != nil && d.cfg.Relay.Holds(ep.ID)
}
