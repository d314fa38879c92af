package hook

import (
	"encoding/json"
	"time"
)

// App is one of the provider's customers (a tenant). Events are published to
// an app and fanned out to the app's endpoints.
type App struct {
	ID        string            `json:"id"`
	UID       string            `json:"uid,omitempty"`
	Name      string            `json:"name"`
	Metadata  map[string]string `json:"metadata"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// EventType is an entry of the catalog. When it has a Schema, events of this
// type are validated against it on ingest.
type EventType struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema,omitempty"`
	Example     json.RawMessage `json:"example,omitempty"`
	Archived    bool            `json:"archived"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// Endpoint is a URL of the app's customer that receives the app's events.
type Endpoint struct {
	ID          string            `json:"id"`
	AppID       string            `json:"app_id"`
	URL         string            `json:"url"`
	Description string            `json:"description"`
	EventTypes  []string          `json:"event_types"`
	Disabled    bool              `json:"disabled"`
	Headers     map[string]string `json:"headers"`
	Metadata    map[string]string `json:"metadata"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`

	// Secret is the current signing secret ("whsec_" + base64). It is
	// never serialised with the endpoint; it has a route of its own.
	Secret string `json:"-"`
	// PreviousSecret, while PreviousSecretExpiresAt is in the future, is
	// also used to sign, so receivers can roll over without a gap.
	PreviousSecret          string    `json:"-"`
	PreviousSecretExpiresAt time.Time `json:"-"`
}

// SigningSecrets returns the secrets deliveries must be signed with at now:
// the current one, and the previous one while its grace period lasts.
func (e *Endpoint) SigningSecrets(now time.Time) []string {
	if e.PreviousSecret != "" && now.Before(e.PreviousSecretExpiresAt) {
		return []string{e.Secret, e.PreviousSecret}
	}
	return []string{e.Secret}
}

// Subscribes reports whether the endpoint wants events of the given type.
func (e *Endpoint) Subscribes(eventType string) bool {
	return MatchEventTypes(e.EventTypes, eventType)
}

// Event is what the provider published: once, to one app.
type Event struct {
	ID        string          `json:"id"`
	AppID     string          `json:"app_id"`
	Type      string          `json:"type"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// Delivery is one event on its way to one endpoint, with every attempt made.
type Delivery struct {
	ID            string     `json:"id"`
	AppID         string     `json:"app_id"`
	EventID       string     `json:"event_id"`
	EventType     string     `json:"event_type"`
	EndpointID    string     `json:"endpoint_id"`
	Status        string     `json:"status"`
	AttemptCount  int        `json:"attempt_count"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	// LastResponseStatus is the HTTP status of the last attempt, 0 if it
	// got none.
	LastResponseStatus int       `json:"last_response_status"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
	// Attempts is filled when one delivery is read, oldest first.
	Attempts []*Attempt `json:"attempts,omitempty"`
}

// Error kinds of a failed attempt.
const (
	ErrorKindTimeout  = "timeout"  // no complete answer within the attempt timeout
	ErrorKindRefused  = "refused"  // the connection was refused
	ErrorKindDNS      = "dns"      // the host name did not resolve
	ErrorKindTLS      = "tls"      // the TLS handshake or certificate failed
	ErrorKindStatus   = "status"   // an answer came, with a status other than 2xx
	ErrorKindNetwork  = "network"  // the connection broke (reset, EOF, unreachable)
	ErrorKindBlocked  = "blocked"  // the target address is not allowed (SSRF guard)
	ErrorKindInternal = "internal" // hookd could not make the request at all
)

// Attempt triggers.
const (
	TriggerScheduled = "scheduled"
	TriggerManual    = "manual"
)

// Attempt is one HTTP request made for a delivery.
type Attempt struct {
	ID             string        `json:"id"`
	DeliveryID     string        `json:"delivery_id"`
	Number         int           `json:"number"`
	Trigger        string        `json:"trigger"`
	StartedAt      time.Time     `json:"started_at"`
	Duration       time.Duration `json:"-"`
	DurationMillis int64         `json:"duration_ms"`
	ResponseStatus int           `json:"response_status"`
	ResponseBody   string        `json:"response_body"`
	ErrorKind      string        `json:"error_kind,omitempty"`
	Error          string        `json:"error,omitempty"`
}

// MaxResponseBodyBytes is how much of a receiver's answer an attempt keeps.
const MaxResponseBodyBytes = 4096
