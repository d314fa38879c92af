// Package listen is `hookd listen`: a developer's CLI holds a WebSocket
// stream to a hookd node, hookd registers a temporary endpoint of kind
// listen (hook.EndpointKindListen) for it, and that endpoint's deliveries go
// down the stream instead of an HTTP POST. The CLI forwards each to a local
// URL and sends the local answer back, which the dispatcher records as the
// attempt.
//
// The server side is Hub: it holds this node's streams, implements
// dispatch.Relay, keeps the endpoints it holds alive in the store
// (heartbeat), and reaps listen endpoints whose stream is gone (any node's).
// The client side is Client, which `hookd listen` runs.
//
// The protocol is JSON text messages over one WebSocket: the server's
// first message is a Hello; then Delivery messages go down and Answer
// messages come up, correlated by request id. Both sides ping; a stream
// that stops answering is dropped. A client that closes the stream with
// the normal closure status (1000) has its endpoint deleted at once; a
// stream lost otherwise keeps its endpoint for the grace period, so the
// client can reconnect (to any node) and resume it.
package listen

import (
	"time"
)

// Message types (Message.Type).
const (
	TypeHello    = "hello"
	TypeDelivery = "delivery"
	TypeAnswer   = "answer"
)

// Message bounds: what a node reads from a CLI (answers), and what a CLI
// reads from a node (deliveries, whose bodies are rendered events).
const (
	MaxAnswerBytes   = 64 << 10
	MaxDeliveryBytes = 16 << 20
	// MaxAnswerBody is how much of the local answer's body the CLI sends
	// back (the store keeps less: hook.MaxResponseBodyBytes).
	MaxAnswerBody = 4096
)

// Defaults of the liveness timings.
const (
	// DefaultHeartbeat is how often a node marks the listen endpoints it
	// holds as alive, and reaps the stale ones.
	DefaultHeartbeat = 10 * time.Second
	// DefaultGrace is how long a listen endpoint whose stream was lost
	// (not closed cleanly) is kept, for its CLI to reconnect.
	DefaultGrace = 30 * time.Second
	// PingInterval is how often each side pings the other.
	PingInterval = 10 * time.Second
)

// ResumeSecretHeader carries, on a reconnection that resumes an endpoint
// (query resume=ep_...), the endpoint's signing secret: the proof that the
// client is the one that opened it.
const ResumeSecretHeader = "Hookd-Listen-Secret"

// Message is every message of the stream; Type says which fields are set.
type Message struct {
	Type string `json:"type"`

	// Hello (server's first message).
	EndpointID string   `json:"endpoint_id,omitempty"`
	AppID      string   `json:"app_id,omitempty"`
	Secret     string   `json:"secret,omitempty"`
	EventTypes []string `json:"event_types,omitempty"`
	Resumed    bool     `json:"resumed,omitempty"`

	// Delivery (down) and Answer (up): RequestID correlates them.
	RequestID  string            `json:"request_id,omitempty"`
	DeliveryID string            `json:"delivery_id,omitempty"`
	EventID    string            `json:"event_id,omitempty"`
	EventType  string            `json:"event_type,omitempty"`
	Attempt    int               `json:"attempt,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`
	// Body is the request's body (Delivery) or the start of the local
	// answer's (Answer).
	Body string `json:"body,omitempty"`

	// Answer only: the local status (0: no answer, see ErrorKind),
	// how long the local request took, and what went wrong.
	Status     int    `json:"status,omitempty"`
	DurationMS int64  `json:"duration_ms,omitempty"`
	ErrorKind  string `json:"error_kind,omitempty"`
	Error      string `json:"error,omitempty"`
}
