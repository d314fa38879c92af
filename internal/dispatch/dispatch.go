// Package dispatch is hookd's delivery engine. It turns published events
// into deliveries and sends them.
//
// How work flows:
//   - Publish stores an event with its deliveries in one durable write. When
//     the dispatcher has room, the deliveries are written already leased to
//     this node and go straight into memory: no claim, no polling tick.
//   - Each endpoint has its own in-memory queue and concurrency limit;
//     endpoints with work take turns (round-robin), so a slow or hanging
//     endpoint holds only its own slots and never delays the others.
//   - Each attempt's outcome is written back (attempt row, delivery status,
//     next attempt time) and the store batches those writes (group commit).
//   - A poller claims from the store what is not in memory: retries when they
//     fall due, backlog that did not fit in memory, and work whose lease ran
//     out because its node died. It sleeps until the next due time; it does
//     not tick.
//   - Leases are renewed while deliveries sit in memory; a node that dies
//     stops renewing, and its deliveries become claimable again.
//
// Memory is bounded by configuration (deliveries and payload bytes held),
// never by the size of the backlog, which stays in the store.
package dispatch

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/internal/envelope"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// Config configures a Dispatcher. Zero values take the defaults noted.
type Config struct {
	Store store.Store
	// Clock is the real clock (the default) or, in tests, a
	// *clockwork.FakeClock: the poller sleeps until a time with
	// clockwork.WithDeadline, which treats any other Clock as real.
	Clock  clockwork.Clock
	Logger *slog.Logger

	Schedule hook.RetrySchedule // default hook.DefaultRetrySchedule
	Jitter   hook.Jitter        // default hook.DefaultJitter

	// AttemptTimeout bounds one attempt: connect, send, and the answer
	// (default 15s).
	AttemptTimeout time.Duration
	// AllowPrivateNetworks lets endpoints reach loopback and private
	// addresses.
	AllowPrivateNetworks bool
	// UserAgent is sent with every delivery.
	UserAgent string
	// HTTPClient overrides the client deliveries are sent with (tests).
	// When nil, a client with the SSRF-guarded dialer is built.
	HTTPClient *http.Client

	// MaxInFlight bounds attempts running at once (default 1024).
	MaxInFlight int
	// EndpointConcurrency bounds attempts running at once to one
	// endpoint (default 64). When the store is shared by several
	// processes (it implements store.SlotLeaser), the bound holds for
	// all of them together: each process runs attempts only on the
	// endpoint slots it leased from the store.
	EndpointConcurrency int
	// MaxHeld bounds deliveries held in memory, queued or in flight
	// (default 20000).
	MaxHeld int
	// MaxHeldBytes bounds the payload bytes held in memory (default 128 MiB).
	MaxHeldBytes int64
	// EndpointQueue bounds deliveries held in memory for one endpoint
	// (default 2000).
	EndpointQueue int
	// LeaseDuration is how long a claim lasts without renewal (default 30s).
	LeaseDuration time.Duration
	// PollInterval is the longest the poller sleeps when it knows of no
	// due work, to notice work it was not told about (default 5s).
	PollInterval time.Duration
	// DrainTimeout bounds how long Stop waits for attempts in flight
	// (default 20s).
	DrainTimeout time.Duration
	// SlotLease is how long a lease on endpoint slots lasts without
	// renewal (default 10s); only with a store.SlotLeaser.
	SlotLease time.Duration
	// SlotTick is how often the slots this process holds are reviewed:
	// renewed, grown, shrunk to a fair share when other processes wait,
	// and given back when idle (default 100ms).
	SlotTick time.Duration
	// SlotIdle is how long an endpoint's slots are kept once it has no
	// work, when nobody else waits for them (default 1s).
	SlotIdle time.Duration
	// BreakerThreshold is how many failures in a row open an endpoint's
	// circuit (default 5); BreakerCooldown the first wait before a probe
	// (default 10s), doubling after each failed probe up to
	// BreakerMaxCooldown (default 5m).
	BreakerThreshold   int
	BreakerCooldown    time.Duration
	BreakerMaxCooldown time.Duration
	// DisableAfter disables an endpoint that has failed this long with no
	// success (default 5 days as hookd configures it; 0 never).
	DisableAfter time.Duration
	// OperatorApp (id or uid) receives hookd's operational events
	// (endpoint.disabled, delivery.failing, ...); "" sends none.
	OperatorApp string
	// EnvelopeTimeout bounds one run of a jq envelope or payload filter
	// (default: the envelope package's, 100ms) when Renderer is nil.
	EnvelopeTimeout time.Duration
	// Renderer renders bodies and evaluates payload filters. nil makes
	// one that runs jq in this process, with EnvelopeTimeout: for tests
	// (hookd serve gives one whose programs run in a sandbox).
	Renderer *envelope.Renderer
	// FilterBudget bounds the time Publish and PublishBatch spend on
	// payload filters, all of a request's together (default
	// DefaultFilterBudget). A filter the budget leaves undecided gets
	// its delivery, which the dispatcher evaluates before the first
	// attempt, and discards if the filter does not let it through.
	// Negative: every filter is evaluated so, none in the request.
	FilterBudget time.Duration
	// ReleaseAllOnStart takes back every lease at start. Only for a store
	// used by this process alone (SQLite under its file lock).
	ReleaseAllOnStart bool

	// Relay carries listen endpoints' deliveries to the `hookd listen`
	// streams attached to this node (nil: none is, and their attempts
	// fail).
	Relay Relay

	// Registerer receives the dispatcher's metrics (nil: not registered).
	Registerer prometheus.Registerer
}

// DefaultFilterBudget is Config.FilterBudget when it is 0.
const DefaultFilterBudget = 20 * time.Millisecond

func (c *Config) setDefaults() {
	if c.FilterBudget == 0 {
		c.FilterBudget = DefaultFilterBudget
	}
	if c.Clock == nil {
		c.Clock = clockwork.NewRealClock()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Schedule == nil {
		c.Schedule = hook.DefaultRetrySchedule
	}
	if c.Jitter == nil {
		c.Jitter = hook.DefaultJitter
	}
	if c.AttemptTimeout <= 0 {
		c.AttemptTimeout = 15 * time.Second
	}
	if c.UserAgent == "" {
		c.UserAgent = "hookd"
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 1024
	}
	if c.EndpointConcurrency <= 0 {
		c.EndpointConcurrency = 64
	}
	if c.MaxHeld <= 0 {
		c.MaxHeld = 20000
	}
	if c.MaxHeldBytes <= 0 {
		c.MaxHeldBytes = 128 << 20
	}
	if c.EndpointQueue <= 0 {
		c.EndpointQueue = 2000
	}
	if c.LeaseDuration <= 0 {
		c.LeaseDuration = 30 * time.Second
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 5 * time.Second
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 20 * time.Second
	}
	if c.BreakerThreshold <= 0 {
		c.BreakerThreshold = 5
	}
	if c.BreakerCooldown <= 0 {
		c.BreakerCooldown = 10 * time.Second
	}
	if c.BreakerMaxCooldown < c.BreakerCooldown {
		c.BreakerMaxCooldown = max(5*time.Minute, c.BreakerCooldown)
	}
	if c.SlotLease <= 0 {
		c.SlotLease = 10 * time.Second
	}
	if c.SlotTick <= 0 {
		c.SlotTick = 100 * time.Millisecond
	}
	if c.SlotIdle <= 0 {
		c.SlotIdle = time.Second
	}
}

// Dispatcher sends deliveries. Create it with New, start it with Start, stop
// it with Stop.
type Dispatcher struct {
	cfg     Config
	st      store.Store
	clock   clockwork.Clock
	log     *slog.Logger
	owner   string
	client  *http.Client
	metrics *metrics
	// slots shares endpoint concurrency with other processes; nil when
	// this process is the store's only user.
	slots store.SlotLeaser
	// due tells of deliveries other processes made due; may be nil.
	due store.DueListener
	// render renders bodies and evaluates payload filters.
	render *envelope.Renderer

	mu        sync.Mutex
	endpoints map[string]*endpointQueue
	ready     []*endpointQueue // endpoints with queued jobs and a free slot, in turn order
	held      int              // deliveries in memory, queued or in flight
	heldBytes int64
	// heldIDs holds the ids of the deliveries in memory, so that a claim
	// that returns one of them again (its lease ran out while it waited
	// here, and this process claimed it anew) does not run it twice.
	heldIDs map[string]struct{}
	// reclaimed holds the ids of deliveries in memory that a claim
	// returned again (see releaseReclaimedLocked).
	reclaimed map[string]struct{}
	// health holds the endpoints that are failing (see breaker.go).
	health map[string]*endpointHealth
	// circuits holds the circuit states to write to the store, by
	// endpoint: open until, or zero for closed (see circuit.go).
	circuits map[string]time.Time
	// ops queues operational events for opsLoop.
	ops chan opEvent
	// buckets holds the rate limits' token buckets, by endpoint.
	buckets  map[string]*bucket
	inFlight int
	// backlog is set when the store holds due work that is not in memory
	// because memory was full; freeing room then wakes the poller.
	backlog  bool
	stopping bool
	// nextWake is when the poller polls next; zero while it polls, so
	// that noteDue keeps every due time it is told of meanwhile.
	nextWake time.Time
	// immediateRepolls counts polls in a row that found work already
	// due (only the poll loop touches it).
	immediateRepolls int

	wake     chan struct{} // poll now
	retimer  chan struct{} // nextWake moved earlier
	slotKick chan struct{} // an endpoint needs slots now
	// circuitKick: circuit states are queued for the store
	circuitKick chan struct{}
	// loopCancel stops the poller and the renewer; attemptCancel cuts
	// attempts in flight, once the drain at Stop has run out.
	loopCancel    context.CancelFunc
	attemptCtx    context.Context
	attemptCancel context.CancelFunc
	loops         sync.WaitGroup
	attempts      sync.WaitGroup
}

// endpointQueue is one endpoint's share of the dispatcher.
type endpointQueue struct {
	ep       *hook.Endpoint
	app      *hook.App // the endpoint's app: how bodies look and are signed
	signers  *signerSet
	jobs     []*store.Job // FIFO; jobs[head:] are queued
	head     int
	inFlight int
	inReady  bool
	// overflowed is set when deliveries for this endpoint were left in
	// the store because its queue was full.
	overflowed bool

	// With a SlotLeaser: slots is how many attempts this process may run
	// to the endpoint (its leased share of the endpoint's limit); short
	// is set when it asked for more than it got; waiting counts other
	// processes waiting for slots; idleSince is when the queue last
	// became empty with nothing in flight.
	slots     int
	short     bool
	waiting   int
	idleSince time.Time
	// others counts the other processes holding slots of the endpoint,
	// which share its rate limit.
	others int
}

func (q *endpointQueue) queued() int { return len(q.jobs) - q.head }

func (q *endpointQueue) push(j *store.Job) { q.jobs = append(q.jobs, j) }

func (q *endpointQueue) pop() *store.Job {
	j := q.jobs[q.head]
	q.jobs[q.head] = nil
	q.head++
	if q.head == len(q.jobs) {
		q.jobs, q.head = q.jobs[:0], 0
	} else if q.head > 1024 && q.head*2 > len(q.jobs) {
		n := copy(q.jobs, q.jobs[q.head:])
		clear(q.jobs[n:])
		q.jobs, q.head = q.jobs[:n], 0
	}
	return j
}

// New builds a Dispatcher.
func New(cfg Config) (*Dispatcher, error) {
	if cfg.Store == nil {
		return nil, errors.New("dispatch: Config.Store is required")
	}
	cfg.setDefaults()
	d := &Dispatcher{
		cfg:       cfg,
		st:        cfg.Store,
		clock:     cfg.Clock,
		log:       cfg.Logger.With("component", "dispatch"),
		owner:     hook.NewID("node"),
		endpoints: make(map[string]*endpointQueue),
		heldIDs:   make(map[string]struct{}),
		reclaimed: make(map[string]struct{}),
		health:    make(map[string]*endpointHealth),
		circuits:  make(map[string]time.Time),
		ops:       make(chan opEvent, 1024),
		buckets:   make(map[string]*bucket),
		wake:      make(chan struct{}, 1),
		retimer:   make(chan struct{}, 1),
		slotKick:  make(chan struct{}, 1),
	}
	d.circuitKick = make(chan struct{}, 1)
	d.render = cfg.Renderer
	if d.render == nil {
		d.render = envelope.NewRenderer(envelope.Options{Timeout: cfg.EnvelopeTimeout})
	}
	d.slots, _ = cfg.Store.(store.SlotLeaser)
	d.due, _ = cfg.Store.(store.DueListener)
	d.client = cfg.HTTPClient
	if d.client == nil {
		d.client = newHTTPClient(cfg.AllowPrivateNetworks, cfg.AttemptTimeout, cfg.EndpointConcurrency)
	}
	d.attemptCtx, d.attemptCancel = context.WithCancel(context.Background())
	d.metrics = newMetrics(d)
	if cfg.Registerer != nil {
		if err := d.metrics.register(cfg.Registerer); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// Owner is the id this dispatcher holds leases under.
func (d *Dispatcher) Owner() string { return d.owner }

// Start takes back stale leases if configured, and starts the poller and
// the lease renewer. They run until Stop.
func (d *Dispatcher) Start(ctx context.Context) error {
	if d.cfg.ReleaseAllOnStart {
		n, err := d.st.ReleaseAllLeases(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			d.log.Info("took back deliveries leased by a previous process", "count", n)
		}
	}
	var loopCtx context.Context
	loopCtx, d.loopCancel = context.WithCancel(context.Background())
	d.loops.Add(3)
	go d.pollLoop(loopCtx)
	go d.renewLoop(loopCtx)
	go d.circuitLoop(loopCtx)
	if d.slots != nil {
		d.loops.Add(1)
		go d.slotLoop(loopCtx)
	}
	if d.cfg.OperatorApp != "" {
		d.loops.Add(1)
		go d.opsLoop(loopCtx)
	}
	if d.due != nil {
		d.loops.Add(1)
		go func() {
			defer d.loops.Done()
			if err := d.due.ListenDue(loopCtx, d.owner, d.Wake); err != nil && loopCtx.Err() == nil {
				d.log.Error("listening for due deliveries stopped; relying on polls", "err", err)
			}
		}()
	}
	d.Wake()
	return nil
}

// Stop stops taking work, gives back what is queued in memory, waits up to
// DrainTimeout (or ctx) for attempts in flight, and ends the leases it
// still holds so another process can take them at once.
func (d *Dispatcher) Stop(ctx context.Context) error {
	d.mu.Lock()
	if d.stopping {
		d.mu.Unlock()
		return nil
	}
	d.stopping = true
	var queued []string
	for _, q := range d.endpoints {
		for q.queued() > 0 {
			j := q.pop()
			queued = append(queued, j.DeliveryID)
			d.forgetLocked(j)
		}
	}
	d.ready = nil
	inFlight := d.inFlight
	d.mu.Unlock()

	if d.loopCancel != nil {
		d.loopCancel()
	}
	d.loops.Wait()

	relCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if len(queued) > 0 {
		if err := d.st.ReleaseDeliveries(relCtx, &store.ReleaseDeliveriesParams{Owner: d.owner, IDs: queued, Now: d.clock.Now()}); err != nil {
			d.log.Error("releasing queued deliveries", "err", err)
		}
	}
	if inFlight > 0 {
		d.log.Info("draining attempts in flight", "count", inFlight)
		drained := make(chan struct{})
		go func() { d.attempts.Wait(); close(drained) }()
		timer := time.NewTimer(d.cfg.DrainTimeout)
		defer timer.Stop()
		select {
		case <-drained:
		case <-timer.C:
			d.log.Warn("drain timeout: attempts still in flight are left to their leases")
		case <-ctx.Done():
			d.log.Warn("drain cancelled: attempts still in flight are left to their leases")
		}
	}
	d.attemptCancel()
	d.attempts.Wait()
	// Whatever is still leased to us (attempts that did not finish) is
	// made due again now.
	if err := d.st.ReleaseDeliveries(relCtx, &store.ReleaseDeliveriesParams{Owner: d.owner, Now: d.clock.Now()}); err != nil {
		d.log.Error("releasing leases", "err", err)
	}
	return nil
}

// Wake makes the poller look for due work now.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// EndpointChanged updates the endpoint's settings for queued deliveries.
// A disabled endpoint's queued deliveries go back to the store, where they
// wait until it is enabled again.
func (d *Dispatcher) EndpointChanged(ep *hook.Endpoint) {
	d.mu.Lock()
	if !ep.Disabled {
		// Enabled again, or changed (a new URL, say): a fresh start
		// for its circuit and its time of failing.
		if h := d.health[ep.ID]; h != nil && !h.openUntil.IsZero() {
			d.noteCircuitLocked(ep.ID, time.Time{})
		}
		delete(d.health, ep.ID)
	}
	q, ok := d.endpoints[ep.ID]
	if ok {
		d.setEndpoint(q, ep)
	}
	var released []string
	if ok && ep.Disabled {
		released = d.takeQueuedLocked(q)
	}
	d.mu.Unlock()
	d.release(released)
	if !ep.Disabled {
		d.Wake()
	}
}

// EndpointDeleted forgets the endpoint; its deliveries are gone with it.
func (d *Dispatcher) EndpointDeleted(endpointID string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	q, ok := d.endpoints[endpointID]
	if !ok {
		return
	}
	d.takeQueuedLocked(q)
	if q.inFlight == 0 {
		delete(d.endpoints, endpointID)
	}
}

// takeQueuedLocked removes the queued jobs of q and returns their ids.
func (d *Dispatcher) takeQueuedLocked(q *endpointQueue) []string {
	var ids []string
	for q.queued() > 0 {
		j := q.pop()
		ids = append(ids, j.DeliveryID)
		d.forgetLocked(j)
	}
	return ids
}

// release gives deliveries back to the store without an attempt.
func (d *Dispatcher) release(ids []string) {
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.st.ReleaseDeliveries(ctx, &store.ReleaseDeliveriesParams{Owner: d.owner, IDs: ids, Now: d.clock.Now()}); err != nil {
		d.log.Error("releasing deliveries", "err", err, "count", len(ids))
	}
}

// setEndpoint stores a newer copy of an endpoint's settings.
func (d *Dispatcher) setEndpoint(q *endpointQueue, ep *hook.Endpoint) {
	if q.ep != nil && ep.UpdatedAt.Before(q.ep.UpdatedAt) {
		return
	}
	q.ep = ep
	q.signers = nil // rebuilt on the next attempt
}

// queueFor returns the endpoint's queue, creating it, with the newer of
// the app it knows and app. Caller holds d.mu.
func (d *Dispatcher) queueFor(app *hook.App, ep *hook.Endpoint) *endpointQueue {
	q, ok := d.endpoints[ep.ID]
	if !ok {
		q = &endpointQueue{}
		d.endpoints[ep.ID] = q
	}
	d.setEndpoint(q, ep)
	if app != nil && (q.app == nil || !app.UpdatedAt.Before(q.app.UpdatedAt)) {
		q.app = app
	}
	return q
}

// AppChanged updates the app's settings (profile, envelope, signature
// scheme) for its deliveries held in memory.
func (d *Dispatcher) AppChanged(app *hook.App) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, q := range d.endpoints {
		if q.app != nil && q.app.ID == app.ID && !app.UpdatedAt.Before(q.app.UpdatedAt) {
			q.app = app
		}
	}
}

// hasRoomLocked reports whether one more delivery of size bytes fits in memory.
func (d *Dispatcher) hasRoomLocked(q *endpointQueue, size int) bool {
	return !d.stopping && d.held < d.cfg.MaxHeld && d.heldBytes+int64(size) <= d.cfg.MaxHeldBytes &&
		(q == nil || q.queued()+q.inFlight < d.cfg.EndpointQueue)
}

// enqueueLocked adds a job to its endpoint's queue. The caller has already
// counted it in held.
func (d *Dispatcher) enqueueLocked(q *endpointQueue, j *store.Job) {
	d.heldIDs[j.DeliveryID] = struct{}{}
	q.push(j)
	if !q.inReady && q.inFlight < d.limitLocked(q) {
		q.inReady = true
		d.ready = append(d.ready, q)
	}
	d.needSlotsLocked(q)
}

// limitLocked is how many attempts may run to q's endpoint at once here:
// its concurrency (or, with several processes, the slots this one holds),
// capped by its circuit breaker.
func (d *Dispatcher) limitLocked(q *endpointQueue) int {
	limit := d.concurrencyOf(q)
	if d.slots != nil {
		limit = q.slots
	}
	if len(d.health) == 0 || q.ep == nil {
		return limit
	}
	return d.breakerLimitLocked(q.ep.ID, limit)
}

// needSlotsLocked asks the slot loop for slots at once when q has work
// but no slot to run it on, unless an earlier request came up short (the
// loop's next tick asks again).
func (d *Dispatcher) needSlotsLocked(q *endpointQueue) {
	if d.slots == nil || q.short || q.inFlight < q.slots || q.slots >= d.concurrencyOf(q) {
		return
	}
	select {
	case d.slotKick <- struct{}{}:
	default:
	}
}

// scheduleLocked starts attempts while there are free slots: endpoints take
// turns, one job each per turn.
func (d *Dispatcher) scheduleLocked() {
	for !d.stopping && d.inFlight < d.cfg.MaxInFlight && len(d.ready) > 0 {
		q := d.ready[0]
		d.ready[0] = nil
		d.ready = d.ready[1:]
		q.inReady = false
		if q.queued() == 0 || q.inFlight >= d.limitLocked(q) {
			continue
		}
		if q.ep != nil && q.ep.RateLimit > 0 && !d.takeTokenLocked(q) {
			continue
		}
		j := q.pop()
		q.inFlight++
		d.inFlight++
		if len(d.health) > 0 {
			d.startedLocked(q.ep.ID)
		}
		if q.queued() > 0 && q.inFlight < d.limitLocked(q) {
			q.inReady = true
			d.ready = append(d.ready, q)
		}
		d.attempts.Add(1)
		go d.attempt(q, q.ep, q.app, j)
	}
}

// sentLocked accounts for an attempt whose HTTP exchange is over: its
// endpoint slot is free for the next attempt while the outcome is being
// written, so a slow write does not slow the endpoint down. Caller holds
// d.mu.
func (d *Dispatcher) sentLocked(q *endpointQueue) {
	q.inFlight--
	d.inFlight--
	if q.queued() > 0 && !q.inReady && q.inFlight < d.limitLocked(q) {
		q.inReady = true
		d.ready = append(d.ready, q)
	}
	d.scheduleLocked()
}

// finishLocked accounts for an attempt whose outcome is written (or given
// up on): the delivery leaves memory. Caller holds d.mu.
func (d *Dispatcher) finishLocked(q *endpointQueue, j *store.Job) {
	d.forgetLocked(j)
	if q.overflowed && q.queued()+q.inFlight < d.cfg.EndpointQueue/2 {
		q.overflowed = false
		d.backlog = true
	}
	if d.backlog && d.held < d.cfg.MaxHeld/2 {
		d.backlog = false
		d.Wake()
	}
	if q.inFlight == 0 && q.queued() == 0 && q.slots == 0 && d.endpoints[q.ep.ID] == q {
		// Keep the map small: an idle endpoint's queue is rebuilt on
		// demand. One holding slots stays until the slot loop gives
		// them back.
		delete(d.endpoints, q.ep.ID)
	}
	d.scheduleLocked()
}

// forgetLocked accounts for a job that leaves memory. Caller holds d.mu.
func (d *Dispatcher) forgetLocked(j *store.Job) {
	d.held--
	d.heldBytes -= int64(len(j.Event.Data))
	delete(d.heldIDs, j.DeliveryID)
	delete(d.reclaimed, j.DeliveryID)
}

// releaseReclaimedLocked runs once an attempt's outcome is written, before
// its delivery leaves memory (finishLocked). A claim by this process's
// poller that returned the delivery while it was in memory was taken as a
// renewal of its lease (see poll); but if the claim came after the write,
// which ended the lease and made a retry due, the claim leased the
// delivery anew, and nobody here would run it or give it back: it would
// wait for its lease to run out, or for ever while the renewer renews
// this process's leases, and a FIFO endpoint's later deliveries with it.
// So the lease of a delivery a claim returned meanwhile is given back; the
// store ignores that when the claim came first, as the write ended the
// lease then. It returns with d.mu held, once no claim has returned the
// delivery since it last gave the lease back, and reports whether it gave
// any back. Caller holds d.mu.
func (d *Dispatcher) releaseReclaimedLocked(j *store.Job) (released bool) {
	for {
		if _, ok := d.reclaimed[j.DeliveryID]; !ok {
			return released
		}
		delete(d.reclaimed, j.DeliveryID)
		d.mu.Unlock()
		d.release([]string{j.DeliveryID})
		d.mu.Lock()
		released = true
	}
}

// noteDue tells the poller that work falls due at t: it polls at t if it
// meant to poll later. Told during a poll, it keeps t for when the poll is
// over (see pollLoop).
func (d *Dispatcher) noteDue(t time.Time) {
	d.mu.Lock()
	earlier := d.nextWake.IsZero() || t.Before(d.nextWake)
	if earlier {
		d.nextWake = t
	}
	d.mu.Unlock()
	if earlier {
		select {
		case d.retimer <- struct{}{}:
		default:
		}
	}
}
