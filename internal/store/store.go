// Package store is the contract between hookd and its databases. Each
// backend (sqlitestore, and pgstore for PostgreSQL) implements Store, and
// storetest holds the conformance suite every backend must pass.
//
// Methods take (ctx, *Params) and return domain types from package hook.
// Errors are *hook.Error values with code hook.ENotFound, hook.EConflict or
// hook.EInvalid where the caller is at fault, an error wrapping
// ErrUnavailable where the database cannot serve for now (a full disk, an
// unreachable server, ...), and any other error where the database fails
// otherwise.
//
// Writes are durable when a method returns: a backend commits with a full
// sync before returning. Backends batch concurrent writes into shared
// transactions (group commit), so callers simply call from many goroutines.
package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

// Store is everything hookd keeps.
type Store interface {
	// Ping checks that the database is reachable.
	Ping(ctx context.Context) error
	// Ready checks that the store can serve, reads and writes: the
	// database is reachable, and, if a write has failed because the
	// store was unavailable (see ErrUnavailable), a probe write that
	// needs room, as that write may have, now succeeds. The error wraps
	// ErrUnavailable when the store is unavailable.
	Ready(ctx context.Context) error
	// Close releases the database. Calls after Close fail.
	Close() error

	CreateApp(ctx context.Context, p *CreateAppParams) (*hook.App, error)
	// GetApp finds an app by id ("app_...") or by uid.
	GetApp(ctx context.Context, idOrUID string) (*hook.App, error)
	ListApps(ctx context.Context, p *ListAppsParams) (*Page[*hook.App], error)
	UpdateApp(ctx context.Context, p *UpdateAppParams) (*hook.App, error)
	// DeleteApp removes the app with its endpoints, events, deliveries
	// and attempts.
	DeleteApp(ctx context.Context, appID string) error

	CreateEventType(ctx context.Context, p *CreateEventTypeParams) (*hook.EventType, error)
	// GetEventType returns the type, archived or not.
	GetEventType(ctx context.Context, name string) (*hook.EventType, error)
	ListEventTypes(ctx context.Context, p *ListEventTypesParams) (*Page[*hook.EventType], error)
	UpdateEventType(ctx context.Context, p *UpdateEventTypeParams) (*hook.EventType, error)
	// PutEventTypes writes several types in one transaction: each is
	// created, or, if its name exists, replaced (description, schema,
	// example) and unarchived. Either all are written or none. It returns
	// them as stored, in the order given.
	PutEventTypes(ctx context.Context, p *PutEventTypesParams) ([]*hook.EventType, error)

	CreateEndpoint(ctx context.Context, p *CreateEndpointParams) (*hook.Endpoint, error)
	// GetEndpoint finds one of the app's endpoints by id ("ep_...") or
	// by uid (see EndpointRefColumn).
	GetEndpoint(ctx context.Context, appID, idOrUID string) (*hook.Endpoint, error)
	ListEndpoints(ctx context.Context, p *ListEndpointsParams) (*Page[*hook.Endpoint], error)
	// ListEnabledEndpoints returns every endpoint of the app that is not
	// disabled, for fan-out.
	ListEnabledEndpoints(ctx context.Context, appID string) ([]*hook.Endpoint, error)
	// ListFanoutEndpoints returns every endpoint of the app, disabled ones
	// too (their deliveries are kept, paused, until they are enabled),
	// oldest first.
	ListFanoutEndpoints(ctx context.Context, appID string) ([]*hook.Endpoint, error)
	UpdateEndpoint(ctx context.Context, p *UpdateEndpointParams) (*hook.Endpoint, error)
	// DeleteEndpoint removes the endpoint with its deliveries and attempts.
	DeleteEndpoint(ctx context.Context, appID, endpointID string) error
	// SetEndpointCircuit records the endpoint's circuit state, read back
	// as hook.Endpoint.CircuitOpenUntil and in Stats: open until
	// p.OpenUntil, or closed when it is zero. It leaves UpdatedAt as it
	// is. An endpoint that no longer exists is not an error (the write
	// comes after the failures, and it may have been deleted meanwhile).
	SetEndpointCircuit(ctx context.Context, p *SetEndpointCircuitParams) error
	// RotateEndpointSecret makes Secret the current secret and keeps the
	// old one for signing until PreviousExpiresAt.
	RotateEndpointSecret(ctx context.Context, p *RotateEndpointSecretParams) (*hook.Endpoint, error)

	// InsertEvent stores an event and its deliveries in one transaction.
	// If the app already has an event with this id, nothing is written and
	// the stored event is returned with Created false.
	InsertEvent(ctx context.Context, p *InsertEventParams) (*InsertEventResult, error)
	// InsertEvents stores a batch of events, each with its deliveries, in
	// one transaction: either every event of the batch is written, with
	// all its deliveries, or nothing is. Each item behaves as InsertEvent:
	// an event whose id the app already has (stored before, or by an
	// earlier item of the same batch) is not written again, and its
	// result is the stored event with Created false. The results are in
	// the order of p.Events. If an item fails (an unknown app or
	// endpoint, a delivery id that exists, ...), nothing of the batch is
	// written and the error is that item's, located by ItemError
	// (Field "events[i]...").
	InsertEvents(ctx context.Context, p *InsertEventsParams) ([]*InsertEventResult, error)
	// InsertTestEvent stores a test event (Test set; the Test of
	// p.Event is ignored) with one delivery, to p.EndpointID, due at the
	// event's CreatedAt, in one transaction. An endpoint that is not the
	// app's is ENotFound; a disabled one, or an event id the app has
	// already, EConflict. Nothing is written on error.
	InsertTestEvent(ctx context.Context, p *InsertTestEventParams) (*InsertEventResult, error)
	// CreateDeliveries adds deliveries of stored events, due at p.Now,
	// in one transaction: either all of them are written or none is. An
	// event or endpoint that is not the app's is ENotFound. With
	// OnlyMissing, an item whose endpoint already has a delivery of its
	// event (whatever its status) is left out, decided in the writing
	// transaction, so that concurrent calls do not both create it. The
	// result lists the deliveries created, in the order of p.Deliveries.
	CreateDeliveries(ctx context.Context, p *CreateDeliveriesParams) ([]*hook.Delivery, error)
	// ListUndeliveredEvents lists, oldest first (by CreatedAt, then in
	// the order stored), the app's events created in [Since, Until) that
	// are not test events nor expunged, whose type EventTypes matches (as
	// hook.MatchEventTypes) and that have no delivery to EndpointID,
	// whatever its status. It returns at most Limit events, fewer once
	// their data add up to MaxBytes (at least one is returned), and says
	// where the window goes on if it stopped before its end.
	ListUndeliveredEvents(ctx context.Context, p *ListUndeliveredEventsParams) (*UndeliveredEvents, error)
	GetEvent(ctx context.Context, appID, eventID string) (*hook.Event, error)
	// ExpungeEvent replaces an event's data with {} and drops its
	// previous attributes, keeping the event, its deliveries and their
	// attempts; ExpungedAt is set. Deliveries sent afterwards carry the
	// empty data.
	ExpungeEvent(ctx context.Context, p *ExpungeEventParams) (*hook.Event, error)
	// PurgeEvents deletes, oldest first, up to Limit events created before
	// Before of which no delivery is pending, with their deliveries and
	// attempts, in one short transaction. It scans from Cursor ("" from
	// the start) and says where to go on; Done is set once it reached an
	// event created at or after Before, or the end.
	PurgeEvents(ctx context.Context, p *PurgeEventsParams) (*PurgeEventsResult, error)
	ListEvents(ctx context.Context, p *ListEventsParams) (*Page[*hook.Event], error)

	// GetDelivery returns the delivery with its attempts, oldest first.
	GetDelivery(ctx context.Context, appID, deliveryID string) (*hook.Delivery, error)
	ListDeliveries(ctx context.Context, p *ListDeliveriesParams) (*Page[*hook.Delivery], error)
	// ListAttempts lists an app's attempts across its deliveries, newest
	// first, each with EventID and EndpointID set.
	ListAttempts(ctx context.Context, p *ListAttemptsParams) (*Page[*hook.Attempt], error)
	// RetryDelivery makes a delivery due now. A succeeded or failed one
	// becomes pending for one manual attempt; a pending one keeps its
	// place in the schedule. A delivery leased by a dispatcher right now
	// is a conflict, and so is one whose endpoint is disabled
	// (EndpointDisabledConflict): nothing is changed.
	RetryDelivery(ctx context.Context, p *RetryDeliveryParams) (*hook.Delivery, error)
	// RecoverEndpoint makes every failed delivery of the endpoint created
	// at or after Since due now for one manual attempt, and returns how
	// many it made due. A disabled endpoint is a conflict
	// (EndpointDisabledConflict): nothing is changed.
	RecoverEndpoint(ctx context.Context, p *RecoverEndpointParams) (int, error)
	// RetryFailedDeliveries makes the app's failed deliveries that match
	// the filters due now for one manual attempt, as RecoverEndpoint, in
	// one transaction, at most Limit of them (see
	// RetryFailedDeliveriesParams and RetryFailedResult). Deliveries of
	// disabled endpoints are left as they are and counted; leased ones are
	// left as they are.
	RetryFailedDeliveries(ctx context.Context, p *RetryFailedDeliveriesParams) (*RetryFailedResult, error)

	// ClaimDeliveries leases due deliveries to a dispatcher: pending, due
	// (next attempt at or before Now), not leased by anyone (or their
	// lease has run out), of an endpoint that is not disabled. It takes at
	// most PerEndpoint per endpoint and Limit in all, oldest due first,
	// skipping the endpoints in ExcludeEndpoints, and the listen endpoints
	// (hook.EndpointKindListen) that are not in ListenEndpoints.
	ClaimDeliveries(ctx context.Context, p *ClaimDeliveriesParams) (*ClaimResult, error)
	// RecordAttempt stores an attempt and what it decided for its
	// delivery, and ends the lease. If the delivery is gone (deleted), it
	// does nothing and returns nil.
	RecordAttempt(ctx context.Context, p *RecordAttemptParams) error
	// ReleaseDeliveries ends the owner's leases on the given deliveries
	// (or on all of the owner's deliveries when IDs is empty) without an
	// attempt, making them due at once.
	ReleaseDeliveries(ctx context.Context, p *ReleaseDeliveriesParams) error
	// DiscardDeliveries deletes the owner's leased deliveries among IDs
	// that are pending and have had no attempt, and returns how many it
	// deleted: the dispatcher's way to drop a delivery whose endpoint's
	// payload filter, evaluated before its first attempt, let it through
	// no longer. Others (not leased by the owner, attempted, or gone) are
	// left as they are.
	DiscardDeliveries(ctx context.Context, p *DiscardDeliveriesParams) (int, error)
	// ReleaseAllLeases ends every lease held by anyone. Only a backend
	// used by a single process (SQLite under its file lock) may call it,
	// at start, to take back what a crashed process held.
	ReleaseAllLeases(ctx context.Context) (int, error)
	// RenewLeases extends every lease the owner holds to Until.
	RenewLeases(ctx context.Context, p *RenewLeasesParams) error
	// NextDue returns the earliest time a pending delivery of an enabled
	// endpoint becomes claimable, or ok false if there is none.
	NextDue(ctx context.Context) (t time.Time, ok bool, err error)
	// TouchListenEndpoints records that the listen endpoints IDs are
	// still held by a stream, at Now, and returns how many of them exist
	// (as listen endpoints).
	TouchListenEndpoints(ctx context.Context, p *TouchListenEndpointsParams) (int, error)
	// DeleteStaleListenEndpoints deletes, as DeleteEndpoint, the listen
	// endpoints last touched (or created) before Before, at most Limit
	// of them, and returns them.
	DeleteStaleListenEndpoints(ctx context.Context, p *DeleteStaleListenEndpointsParams) ([]*hook.Endpoint, error)
	// CountPendingDeliveries counts deliveries not yet succeeded or failed.
	CountPendingDeliveries(ctx context.Context) (int64, error)

	// Stats answers the delivery statistics of a window, in buckets, of
	// one app or all, optionally of one endpoint, from the rollups the
	// store keeps as it records attempts (see StatsParams and Stats); its
	// cost grows with endpoints and minutes, not with deliveries. An
	// EndpointID that is not AppID's is ENotFound.
	Stats(ctx context.Context, p *StatsParams) (*Stats, error)

	CreateAPIKey(ctx context.Context, p *CreateAPIKeyParams) (*APIKey, error)
	// GetAPIKeyByHash finds a key by the SHA-256 of its secret.
	GetAPIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	CountAPIKeys(ctx context.Context) (int64, error)
	// ListAPIKeys lists the keys, newest first: the portal links' keys
	// (APIKey.Portal) when p.Portal, else every other key.
	ListAPIKeys(ctx context.Context, p *ListAPIKeysParams) (*Page[*APIKey], error)
	// DeletePortalKeys removes every portal link key (APIKey.Portal) of
	// the app, with their dashboard sessions, and returns how many it
	// removed: 0 for an app without any, or no such app.
	DeletePortalKeys(ctx context.Context, appID string) (int64, error)
	// DeleteAPIKey removes a key. Removing the last admin key (AppID "")
	// that never expires (ExpiresAt nil) is a conflict, decided in the
	// deleting transaction, so that two concurrent deletes cannot remove
	// the last two: hookd always keeps an admin key that cannot expire.
	// (Keys that expire may all be deleted.)
	DeleteAPIKey(ctx context.Context, id string) error

	// CreateDashboardSession stores a dashboard session (the dashboard's
	// sign-in, kept by the SHA-256 of its cookie's token) and deletes
	// the sessions that expired by p.Now. A Hash that exists is a
	// conflict; an unknown key is not found. A session is deleted with
	// its key.
	CreateDashboardSession(ctx context.Context, p *CreateDashboardSessionParams) (*DashboardSession, error)
	// GetDashboardSession finds a session by the SHA-256 of its token,
	// with its key. A session that expired by p.Now, or whose key has
	// expired or was deleted, is not found.
	GetDashboardSession(ctx context.Context, p *GetDashboardSessionParams) (*DashboardSession, error)
	// DeleteDashboardSession ends a session (sign out); an unknown one
	// is not found.
	DeleteDashboardSession(ctx context.Context, hash []byte) error
}

// Page is one page of a list, newest first. NextCursor is "" on the last page.
type Page[T any] struct {
	Data       []T
	NextCursor string
}

// ListParams are the paging parameters every list takes. Cursor is opaque:
// the NextCursor of the previous page. Limit is between 1 and MaxLimit;
// zero means DefaultLimit.
type ListParams struct {
	Limit  int
	Cursor string
}

// Paging limits.
const (
	DefaultLimit = 50
	MaxLimit     = 250
)

// NormalizedLimit returns Limit within 1..MaxLimit, DefaultLimit for zero.
func (p ListParams) NormalizedLimit() int {
	switch {
	case p.Limit <= 0:
		return DefaultLimit
	case p.Limit > MaxLimit:
		return MaxLimit
	}
	return p.Limit
}

// CreateAppParams creates an app. ID is set by the caller (hook.NewID("app")).
type CreateAppParams struct {
	ID         string
	UID        string
	Name       string
	Metadata   map[string]string
	Profile    string
	Envelope   string
	APIVersion string
	Livemode   bool
	Signature  *hook.SignatureScheme
	// Catalog is hook.CatalogOpen, hook.CatalogStrict or "" (the
	// deployment's default).
	Catalog string
	// SecretOverlapSeconds nil is hook.DefaultSecretOverlapSeconds.
	SecretOverlapSeconds *int
	// Branding nil: none.
	Branding *hook.Branding
	Now      time.Time
}

// ListAppsParams lists apps.
type ListAppsParams struct {
	ListParams
}

// UpdateAppParams changes the fields that are not nil.
type UpdateAppParams struct {
	AppID      string
	UID        *string
	Name       *string
	Metadata   *map[string]string
	Profile    *string
	Envelope   *string
	APIVersion *string
	Livemode   *bool
	// Signature set to a nil *hook.SignatureScheme goes back to Standard
	// Webhooks.
	Signature            **hook.SignatureScheme
	Catalog              *string
	SecretOverlapSeconds *int
	// Branding set to a nil *hook.Branding removes the app's branding.
	Branding **hook.Branding
	Now      time.Time
}

// CreateEventTypeParams adds a type to the catalog. A name that exists
// (archived or not) is a conflict.
type CreateEventTypeParams struct {
	Name        string
	Description string
	Schema      json.RawMessage
	Example     json.RawMessage
	Now         time.Time
}

// PutEventTypesParams writes Types (Name, Description, Schema, Example
// used; a Schema or Example of JSON null or empty is none).
type PutEventTypesParams struct {
	Types []*hook.EventType
	Now   time.Time
}

// ListEventTypesParams lists the catalog in name order; archived types only
// when IncludeArchived.
type ListEventTypesParams struct {
	ListParams
	IncludeArchived bool
}

// UpdateEventTypeParams changes the fields that are not nil. A Schema or
// Example of JSON null removes it.
type UpdateEventTypeParams struct {
	Name        string
	Description *string
	Schema      *json.RawMessage
	Example     *json.RawMessage
	Archived    *bool
	Now         time.Time
}

// CreateEndpointParams creates an endpoint. ID and Secret are set by the caller.
type CreateEndpointParams struct {
	ID          string
	AppID       string
	URL         string
	Description string
	EventTypes  []string
	Disabled    bool
	Headers     map[string]string
	Metadata    map[string]string
	// UID, when set, is unique in the app: a second one is a conflict.
	UID      string
	Profile  string
	Envelope string
	Filter   string
	// MaxConcurrency, RateLimit and Ordering as in hook.Endpoint.
	MaxConcurrency int
	RateLimit      float64
	Ordering       string
	Secret         string
	// MaxPerApp, when above zero, is how many endpoints the app may
	// have: if it has that many already, nothing is written and the
	// error is EndpointLimitConflict's. The count is made in the creating
	// transaction, serialized with the app's other creates, so that
	// concurrent creates cannot pass the limit.
	MaxPerApp int
	// Kind is hook.EndpointKindHTTP ("" is the same) or
	// hook.EndpointKindListen: a listen endpoint is seen (see
	// TouchListenEndpoints) at Now.
	Kind string
	Now  time.Time
}

// ListEndpointsParams lists an app's endpoints.
type ListEndpointsParams struct {
	ListParams
	AppID string
}

// UpdateEndpointParams changes the fields that are not nil. Headers
// replaces the custom headers, except that a value hook.HeaderValueMask
// keeps the value stored for that header (see Apply).
type UpdateEndpointParams struct {
	AppID       string
	EndpointID  string
	URL         *string
	Description *string
	EventTypes  *[]string
	Disabled    *bool
	Headers     *map[string]string
	Metadata    *map[string]string
	UID         *string
	Profile     *string
	Envelope    *string
	Filter      *string
	// MaxConcurrency, RateLimit and Ordering as in hook.Endpoint.
	MaxConcurrency *int
	RateLimit      *float64
	Ordering       *string
	Now            time.Time
}

// RotateEndpointSecretParams replaces an endpoint's secret.
type RotateEndpointSecretParams struct {
	AppID             string
	EndpointID        string
	Secret            string
	PreviousExpiresAt time.Time
	Now               time.Time
}

// NewDelivery is one delivery to create with an event. When Claimed, it is
// created already leased to the inserting dispatcher (Owner, until
// LeaseUntil), so the dispatcher can send it without claiming it first.
type NewDelivery struct {
	ID         string
	EndpointID string
	Claimed    bool
}

// InsertEventParams stores an event (its ID, AppID, Type, Data and
// CreatedAt set) with one delivery per subscribed endpoint, all due at the
// event's CreatedAt.
type InsertEventParams struct {
	Event      *hook.Event
	Deliveries []NewDelivery
	Owner      string
	LeaseUntil time.Time
}

// InsertEventResult says what InsertEvent did. On a replay (Created false)
// Event is the stored one and Deliveries is empty.
type InsertEventResult struct {
	Event      *hook.Event
	Created    bool
	Deliveries []*hook.Delivery
}

// InsertTestEventParams stores Event (its ID, AppID, Type, Data and
// CreatedAt set) as a test event with one delivery, DeliveryID, to
// EndpointID.
type InsertTestEventParams struct {
	Event      *hook.Event
	DeliveryID string
	EndpointID string
}

// EventDelivery is one delivery to add to a stored event.
type EventDelivery struct {
	ID         string
	EventID    string
	EndpointID string
}

// CreateDeliveriesParams adds Deliveries (distinct event and endpoint
// pairs) to the app's stored events.
type CreateDeliveriesParams struct {
	AppID       string
	Deliveries  []EventDelivery
	OnlyMissing bool
	Now         time.Time
}

// ListUndeliveredEventsParams is one look for the events an endpoint
// never got. Until zero is no end; Limit below 1 is 1; MaxBytes 0 is no
// bound.
type ListUndeliveredEventsParams struct {
	AppID      string
	EndpointID string
	EventTypes []string
	Since      time.Time
	Until      time.Time
	Limit      int
	MaxBytes   int
}

// UndeliveredEvents is what ListUndeliveredEvents found. When More is
// set, the window holds further such events, the first created at Next:
// a look from Next on goes on (it may see again events created at Next
// that were returned, and that have a delivery by then).
type UndeliveredEvents struct {
	Events []*hook.Event
	More   bool
	Next   time.Time
}

// ExpungeEventParams names the event whose payload goes.
type ExpungeEventParams struct {
	AppID   string
	EventID string
	Now     time.Time
}

// PurgeEventsParams is one batch of the retention purge.
type PurgeEventsParams struct {
	Before time.Time
	Limit  int
	Cursor string
}

// PurgeEventsResult says what one batch did.
type PurgeEventsResult struct {
	Deleted int
	// Cursor is where the next batch starts; Done, that there is nothing
	// older than Before left to look at (pending ones were kept).
	Cursor string
	Done   bool
}

// ListEventsParams lists an app's events, newest first, with optional
// filters: Type matching any of Types (names or patterns, as an endpoint's
// event_types: see hook.MatchEventTypes; empty for every type), CreatedAt
// in [Since, Until), Livemode when not nil.
type ListEventsParams struct {
	ListParams
	AppID    string
	Types    []string
	Since    time.Time
	Until    time.Time
	Livemode *bool
}

// ListDeliveriesParams lists an app's deliveries, newest first, with
// optional filters.
type ListDeliveriesParams struct {
	ListParams
	AppID      string
	Status     string
	EndpointID string
	EventID    string
	// EventTypes keeps the deliveries whose event type matches any of
	// these names or patterns (as ListEventsParams.Types); empty keeps all.
	EventTypes []string
	// Since and Until keep the deliveries created in [Since, Until); a
	// zero time does not bound.
	Since time.Time
	Until time.Time
	// Livemode, when not nil, keeps live (true) or test (false) deliveries.
	Livemode *bool
}

// Attempt status classes, for ListAttemptsParams.StatusClass.
const (
	StatusClass2xx = "2xx"
	StatusClass3xx = "3xx"
	StatusClass4xx = "4xx"
	StatusClass5xx = "5xx"
	// StatusClassError is an attempt that got no HTTP response (a
	// timeout, a refused connection, ...): response status 0.
	StatusClassError = "error"
)

// StatusClasses lists the attempt status classes.
var StatusClasses = []string{StatusClass2xx, StatusClass3xx, StatusClass4xx, StatusClass5xx, StatusClassError}

// ListAttemptsParams lists an app's attempts, across its deliveries,
// newest first, with optional filters ("" or a zero time for none).
type ListAttemptsParams struct {
	ListParams
	AppID string
	// EndpointID, DeliveryID and EventID (the event's id, as published)
	// keep the attempts of that endpoint, delivery or event.
	EndpointID string
	DeliveryID string
	EventID    string
	// StatusClass is one of StatusClasses: the class of the response
	// status, or StatusClassError for no response.
	StatusClass string
	// ErrorKind is one of the hook.ErrorKind* values.
	ErrorKind string
	// Since and Until keep the attempts started in [Since, Until).
	Since time.Time
	Until time.Time
}

// RetryDeliveryParams makes one delivery due now.
type RetryDeliveryParams struct {
	AppID      string
	DeliveryID string
	Now        time.Time
}

// RecoverEndpointParams makes an endpoint's failed deliveries due now.
type RecoverEndpointParams struct {
	AppID      string
	EndpointID string
	Since      time.Time
	Now        time.Time
}

// ClaimDeliveriesParams leases due deliveries to Owner until LeaseUntil.
type ClaimDeliveriesParams struct {
	Owner            string
	Now              time.Time
	LeaseUntil       time.Time
	Limit            int
	PerEndpoint      int
	ExcludeEndpoints []string
	// ListenEndpoints are the listen endpoints (hook.EndpointKindListen)
	// whose streams this dispatcher holds: the deliveries of other listen
	// endpoints are not claimed, as this node could not send them.
	ListenEndpoints []string
}

// Job is a claimed delivery with what is needed to attempt it.
type Job struct {
	DeliveryID string
	EndpointID string
	Event      *hook.Event
	// AttemptCount counts the attempts made before this one.
	AttemptCount int
	// ScheduledAttempts counts the scheduled attempts made before this one.
	ScheduledAttempts int
	// Manual is set when this attempt is a manual retry (a single attempt).
	Manual bool
	// FilterChecked is set, by the dispatcher and in memory only, on a
	// job whose endpoint's payload filter it evaluated when the event was
	// published; stores leave it false.
	FilterChecked bool
}

// ClaimResult holds the claimed jobs, the endpoints they go to and those
// endpoints' apps.
type ClaimResult struct {
	Jobs      []*Job
	Endpoints map[string]*hook.Endpoint
	Apps      map[string]*hook.App
}

// RecordAttemptParams records one attempt and its decision. The delivery's
// status, next attempt time and counters are updated only while Owner still
// holds its lease; the attempt row is written regardless.
type RecordAttemptParams struct {
	Owner   string
	Attempt *hook.Attempt // ID, DeliveryID, Number, Trigger, StartedAt, Duration, response, error
	// ScheduledAttempts is the delivery's new count of scheduled attempts.
	ScheduledAttempts int
	Decision          hook.Decision
	// EndpointID is disabled when Decision.DisableEndpoint is set.
	EndpointID string
	Now        time.Time
}

// SetEndpointCircuitParams sets an endpoint's circuit state.
type SetEndpointCircuitParams struct {
	EndpointID string
	// OpenUntil is when the circuit lets a probe through; zero: closed.
	OpenUntil time.Time
}

// ReleaseDeliveriesParams ends leases without attempts.
type ReleaseDeliveriesParams struct {
	Owner string
	IDs   []string
	Now   time.Time
}

// DiscardDeliveriesParams names deliveries to delete before any attempt.
type DiscardDeliveriesParams struct {
	Owner string
	IDs   []string
}

// TouchListenEndpointsParams marks listen endpoints seen at Now.
type TouchListenEndpointsParams struct {
	IDs []string
	Now time.Time
}

// DeleteStaleListenEndpointsParams names the listen endpoints to reap: not
// seen since Before. Limit below 1 is 100.
type DeleteStaleListenEndpointsParams struct {
	Before time.Time
	Limit  int
}

// RenewLeasesParams extends an owner's leases.
type RenewLeasesParams struct {
	Owner string
	Until time.Time
}

// APIKey is a key for the /v1 API, kept only as the SHA-256 of its secret.
type APIKey struct {
	ID   string
	Name string
	Hash []byte
	// AppID limits the key to one app; "" is an admin key.
	AppID     string
	CreatedAt time.Time
	// ExpiresAt, when not nil, is when the key stops being valid. The
	// store keeps and returns expired keys: whoever authenticates
	// compares with its clock (see Expired).
	ExpiresAt *time.Time
	// Portal marks the token of a consumer portal link: bound to its app
	// (AppID), short-lived (ExpiresAt), and narrower than an app key (it
	// manages the app's endpoints and reads its deliveries, but does not
	// publish or change the app).
	Portal bool
	// ReadOnly keys (portal links made read-only) may only read.
	ReadOnly bool
}

// Expired reports whether the key has expired at now.
func (k *APIKey) Expired(now time.Time) bool {
	return k.ExpiresAt != nil && !now.Before(*k.ExpiresAt)
}

// ListAPIKeysParams lists API keys.
type ListAPIKeysParams struct {
	ListParams
	// Portal lists the keys of portal links instead of the other keys
	// (the ones an operator manages).
	Portal bool
}

// CreateAPIKeyParams stores a key. A Hash that exists is a conflict.
// ExpiresAt nil: the key never expires.
type CreateAPIKeyParams struct {
	ID        string
	Name      string
	Hash      []byte
	AppID     string
	ExpiresAt *time.Time
	// Portal and ReadOnly are stored on the key (see APIKey).
	Portal   bool
	ReadOnly bool
	Now      time.Time
}

// DueListener is implemented by stores that several hookd processes share
// (PostgreSQL). It tells a dispatcher promptly when another process made
// deliveries due, so idle nodes need not wait for a poll.
//
// The store signals from the transactions that make deliveries claimable
// by anyone: InsertEvent with unclaimed deliveries, ReleaseDeliveries,
// ReleaseAllLeases, RetryDelivery, RecoverEndpoint, RetryFailedDeliveries
// that made some due, InsertTestEvent, CreateDeliveries that created some,
// and UpdateEndpoint when it enables an endpoint.
type DueListener interface {
	// ListenDue blocks until ctx is done, calling wake each time a
	// signal arrives, except those sent by owner itself (InsertEvent and
	// ReleaseDeliveries carry their Owner). It reconnects on its own
	// after a lost connection, and calls wake after reconnecting since
	// signals may have been missed. It returns nil when ctx is done.
	ListenDue(ctx context.Context, owner string, wake func()) error
}

// SlotLeaser is implemented by stores that several hookd processes share.
// It shares each endpoint's concurrency limit among the processes, so that
// the limit holds for the cluster and not per process: an owner may run an
// attempt to an endpoint only while it holds one of that endpoint's slots.
//
// Slots are leased like deliveries: until a time, renewed by RenewLeases
// (which extends the owner's slot leases along with its delivery leases),
// and free again once the lease runs out, so a dead process's slots return.
type SlotLeaser interface {
	// LeaseSlots sets, for each request, how many of the endpoint's slots
	// Owner holds. Each endpoint is handled atomically with respect to
	// every other owner: Owner is granted min(Want, Limit - slots held by
	// other owners under unexpired leases), never below zero, and holds
	// exactly that many until Until. Want zero gives all of Owner's slots
	// of the endpoint back. Owner's Want is kept with its grant, so that
	// other owners can see that it waits for more than it was granted.
	LeaseSlots(ctx context.Context, p *LeaseSlotsParams) (map[string]SlotGrant, error)
}

// SlotRequest asks for Want of an endpoint's Limit slots.
type SlotRequest struct {
	EndpointID string
	Want       int
	Limit      int
}

// LeaseSlotsParams are one owner's slot requests.
type LeaseSlotsParams struct {
	Owner    string
	Now      time.Time
	Until    time.Time
	Requests []SlotRequest
}

// SlotGrant is the answer to one SlotRequest.
type SlotGrant struct {
	// Granted is how many slots Owner now holds.
	Granted int
	// Waiting counts the other owners (unexpired) whose Want exceeds
	// what they hold: a holder with Waiting > 0 should shrink towards a
	// fair share.
	Waiting int
	// Others counts the other owners (unexpired) that hold slots of the
	// endpoint: the processes sending to it besides this one, which share
	// its rate limit.
	Others int
}

// MigrationState is one schema migration and whether it is applied.
type MigrationState struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time // zero when not applied
}
