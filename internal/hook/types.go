package hook

import (
	"encoding/json"
	"time"
)

// App is one of the provider's customers (a tenant). Events are published to
// an app and fanned out to the app's endpoints.
type App struct {
	ID       string            `json:"id"`
	UID      string            `json:"uid,omitempty"`
	Name     string            `json:"name"`
	Metadata map[string]string `json:"metadata"`
	// Profile names the body shape of the app's deliveries (ProfileHookd
	// when empty); Envelope, a jq program, overrides it. An endpoint's own
	// Profile or Envelope wins over both.
	Profile  string `json:"profile"`
	Envelope string `json:"envelope,omitempty"`
	// APIVersion is the default api_version of the app's events.
	APIVersion string `json:"api_version,omitempty"`
	// Livemode false makes the app a test app: its events are test
	// events unless they say otherwise.
	Livemode bool `json:"livemode"`
	// Signature is how deliveries are signed; nil is Standard Webhooks.
	Signature *SignatureScheme `json:"signature,omitempty"`
	// Catalog is CatalogOpen, CatalogStrict, or "" to follow the
	// deployment's default (HOOKD_CATALOG): with strict, events of a type
	// the catalog does not define (or has archived) are refused.
	Catalog string `json:"catalog"`
	// SecretOverlapSeconds is how long, in seconds, a rotated-out secret
	// of the app's endpoints still signs when a rotation does not say
	// (DefaultSecretOverlapSeconds unless set; 0: the new secret alone
	// signs from the rotation on).
	SecretOverlapSeconds int `json:"secret_overlap_seconds"`
	// Branding, when set, shows in the header of the app's consumer portal.
	Branding  *Branding `json:"branding,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Branding is how an app's consumer portal presents it to the provider's
// customers. Empty fields fall back to the app's name and hookd's look.
type Branding struct {
	// DisplayName is the name the portal's header shows ("" : the app's
	// Name).
	DisplayName string `json:"display_name,omitempty"`
	// LogoURL is an https image shown next to the name.
	LogoURL string `json:"logo_url,omitempty"`
	// AccentColor is the portal's accent, "#rrggbb".
	AccentColor string `json:"accent_color,omitempty"`
}

// Catalog settings of an app (App.Catalog) and of a deployment.
const (
	// CatalogOpen accepts events of any well-formed type.
	CatalogOpen = "open"
	// CatalogStrict accepts only events of types the catalog defines and
	// has not archived.
	CatalogStrict = "strict"
)

// Secret overlap limits, in seconds (App.SecretOverlapSeconds and a
// rotation's own).
const (
	// DefaultSecretOverlapSeconds is 24 hours.
	DefaultSecretOverlapSeconds = 24 * 60 * 60
	// MaxSecretOverlapSeconds is 7 days.
	MaxSecretOverlapSeconds = 7 * 24 * 60 * 60
)

// Endpoint kinds (Endpoint.Kind).
const (
	// EndpointKindHTTP is an endpoint hookd POSTs deliveries to.
	EndpointKindHTTP = "http"
	// EndpointKindListen is a temporary endpoint held by a `hookd listen`
	// stream: its deliveries are pushed down the stream, not POSTed.
	EndpointKindListen = "listen"
)

// IsListen reports whether the endpoint is a `hookd listen` endpoint.
func (e *Endpoint) IsListen() bool { return e.Kind == EndpointKindListen }

// OrderingFIFO is the Ordering of an endpoint whose deliveries go out one
// at a time, in event order.
const OrderingFIFO = "fifo"

// Profiles: the built-in body shapes.
const (
	ProfileHookd       = "hookd"
	ProfileReflow      = "reflow"
	ProfileOpenTiendas = "opentiendas"
	ProfileFlo         = "flo"
	ProfileFlexprice   = "flexprice"
)

// Profiles lists the built-in profiles.
var Profiles = []string{ProfileHookd, ProfileReflow, ProfileOpenTiendas, ProfileFlo, ProfileFlexprice}

// SignatureScheme describes a provider's own signing, so that its
// customers' verification code keeps working after a move to hookd. Every
// scheme is an HMAC-SHA256 under the endpoint's secret.
type SignatureScheme struct {
	// Scheme is SchemeHMAC for a provider's own scheme, described by the
	// other fields, or SchemeStandard (the other fields empty), which an
	// app also gets with no scheme at all.
	Scheme string `json:"scheme"`
	// Header carries the signature, e.g. "X-Reflow-Signature".
	Header string `json:"header,omitempty"`
	// TimestampHeader, when set, carries the Unix time of the attempt.
	TimestampHeader string `json:"timestamp_header,omitempty"`
	// IDHeader, when set, carries the event id.
	IDHeader string `json:"id_header,omitempty"`
	// Encoding of the MAC: SignatureHex or SignatureBase64.
	Encoding string `json:"encoding,omitempty"`
	// Payload is what is signed: SignBody, SignTimestampBody
	// ("{timestamp}.{body}") or SignIDTimestampBody ("{id}.{timestamp}.{body}").
	Payload string `json:"payload,omitempty"`
	// Prefix is put before the encoded MAC, e.g. "sha256=" or "v1=".
	Prefix string `json:"prefix,omitempty"`
	// Key is how the secret becomes the HMAC key: KeySecretBytes (the
	// secret string's bytes, as most providers' verification code does)
	// or KeyWhsec (the base64 key after "whsec_", as Standard Webhooks).
	Key string `json:"key,omitempty"`
}

// Signature scheme values.
const (
	SchemeStandard      = "standard-webhooks"
	SchemeHMAC          = "hmac"
	SignatureHex        = "hex"
	SignatureBase64     = "base64"
	SignBody            = "body"
	SignTimestampBody   = "timestamp.body"
	SignIDTimestampBody = "id.timestamp.body"
	KeySecretBytes      = "secret"
	KeyWhsec            = "whsec"
)

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
	Headers     map[string]string `json:"headers" doc:"The custom headers sent with every delivery. Each value reads ******** here, whatever it is (values are often credentials, sealed at rest); GET /v1/apps/{app}/endpoints/{ep}/headers shows them."`
	Metadata    map[string]string `json:"metadata"`
	// UID is the provider's own id for the endpoint, unique in its app.
	UID string `json:"uid,omitempty"`
	// Profile and Envelope, when set, win over the app's.
	Profile  string `json:"profile,omitempty"`
	Envelope string `json:"envelope,omitempty"`
	// Filter is a jq expression over the event (the envelope input); an
	// event for which it is false or null gets no delivery here.
	Filter string `json:"filter,omitempty"`
	// MaxConcurrency caps attempts in flight to this endpoint, across all
	// nodes; 0 is the deployment's limit (HOOKD_ENDPOINT_CONCURRENCY),
	// which it cannot exceed.
	MaxConcurrency int `json:"max_concurrency,omitempty"`
	// RateLimit caps deliveries per second to this endpoint; 0 is none.
	RateLimit float64 `json:"rate_limit,omitempty"`
	// Ordering OrderingFIFO sends this endpoint's deliveries one at a
	// time in event order; "" sends them in parallel, in no set order.
	Ordering string `json:"ordering,omitempty"`
	// Kind is EndpointKindHTTP (deliveries are POSTed to URL) or
	// EndpointKindListen (a temporary endpoint that lives as long as a
	// `hookd listen` stream: its deliveries go down that stream).
	Kind      string    `json:"kind" enum:"http,listen" readOnly:"true" doc:"http: deliveries are POSTed to url. listen: a temporary endpoint opened by hookd listen; its deliveries go down the CLI's stream to the developer's machine, and it is removed when the stream ends."`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// CircuitOpenUntil is set while a dispatcher's circuit breaker holds
	// the endpoint's deliveries back after failures in a row: when it lets
	// a probe attempt through. The store keeps the last one written (it
	// may be past: the circuit is then half-open, or its node gone); the
	// API shows it only while it is in the future. Not an endpoint
	// setting: it does not change UpdatedAt.
	CircuitOpenUntil *time.Time `json:"circuit_open_until,omitempty" readOnly:"true" doc:"Set while the endpoint's circuit is open: after failures in a row, hookd sends it nothing until this time, then one probe attempt; a success closes the circuit. Omitted while the circuit is closed."`

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
	ID    string          `json:"id"`
	AppID string          `json:"app_id"`
	Type  string          `json:"type"`
	Data  json.RawMessage `json:"data"`
	// PreviousAttributes holds the old values of what an *.updated event
	// changed; nil when not given.
	PreviousAttributes json.RawMessage `json:"previous_attributes,omitempty"`
	// Livemode false marks a test event.
	Livemode bool `json:"livemode"`
	// RequestID is the provider's request that caused the event.
	RequestID string `json:"request_id,omitempty"`
	// APIVersion is the provider API version the data is shaped by.
	APIVersion string `json:"api_version,omitempty"`
	// ExpungedAt is when the payload was removed on request; nil while
	// it is kept.
	ExpungedAt *time.Time `json:"expunged_at,omitempty"`
	// Test marks an event sent with the send-test-event route to one
	// endpoint: it goes to that endpoint only, whatever its payload
	// filter says, and replay-missing never sends it.
	Test      bool      `json:"test,omitempty" doc:"true for an event sent to one endpoint by the send-test-event route."`
	CreatedAt time.Time `json:"created_at"`
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
	// DeliveryPaused is how a pending delivery of a disabled endpoint
	// reads: kept, and sent once the endpoint is enabled again.
	DeliveryPaused = "paused"
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
	LastResponseStatus int `json:"last_response_status"`
	// Livemode is the event's: false for a test event's deliveries.
	Livemode  bool      `json:"livemode"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
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
	ID         string `json:"id"`
	DeliveryID string `json:"delivery_id"`
	// EventID and EndpointID are those of the attempt's delivery: set in
	// a list of attempts across deliveries, empty in a delivery's own.
	EventID        string        `json:"event_id,omitempty" doc:"The event's id (set in the attempts list)."`
	EndpointID     string        `json:"endpoint_id,omitempty" doc:"The endpoint's id (set in the attempts list)."`
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
