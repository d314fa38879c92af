// Package pgstore implements store.Store on PostgreSQL, with pgx v5. Unlike
// SQLite, one database may be shared by several hookd processes: the store
// also implements store.DueListener (LISTEN/NOTIFY on the channel
// hookd_due) and store.SlotLeaser (the endpoint_slots table).
//
// # Schema and migrations
//
// The tables are those of sqlitestore with PostgreSQL types (see
// migrations/00001_init.sql). They are created in the first schema of the
// connection's search_path, which a DSN may set (search_path=...), and so
// is goose's version table. Open applies pending migrations under goose's
// PostgreSQL session lock (an advisory lock whose id is derived from the
// schema's name, so that migrations of different schemas do not wait for
// each other), unless Options.SkipMigrate is set.
//
// # Durability and group commit
//
// Every connection runs with synchronous_commit=on: a write method returns
// only after its transaction's commit record has been flushed to disk.
// The hot writes, InsertEvent and RecordAttempt, are committed in groups:
// each hands an operation to a queue served by two writer goroutines. A
// writer takes the first queued operation and whatever else is already
// queued (up to a batch size), sorts them (so that two processes' batches
// take row locks in the same order), and runs them in one transaction,
// pipelined in one pgx.Batch: all the batch's events in one INSERT
// statement, all its attempts (one per delivery) in one more, so that
// PostgreSQL's per-statement cost is paid once per batch. An operation
// that writes nothing and fails on its own (an unknown app or endpoint)
// gets its error while the others commit. If anything else fails, the
// transaction is rolled back and each operation runs again in a
// transaction of its own, so that a bad operation fails alone. There are
// no timers at low load: a batch is whatever queued up while the writers
// were busy; under load, a writer also waits a few hundred microseconds for
// more (store.Gatherer), so that a commit carries a whole wave of
// operations, while the other writer's batch runs.
// The rollups of the recorded attempts are not written in the batches:
// they are kept in memory and written at most once per
// Options.RollupInterval, in a transaction of their own (see rollups.go).
// A caller whose context ends while its operation is queued gets ctx.Err()
// and its operation is skipped if no writer has taken it yet; once taken,
// it runs to its end regardless of the caller.
//
// Other writes run in transactions of their own on the pool: PostgreSQL
// takes concurrent transactions, and commits that wait for the same WAL
// flush share it.
//
// # Leases
//
// There is no index on the lease owner: each Store remembers, per owner,
// the deliveries it leased, and renews and releases "all of an owner's
// leases" by id (see leases.go). A lease granted by another Store (another
// node, or an earlier process) runs out and is claimed again.
package pgstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jonboulle/clockwork"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/secrets"
	"github.com/hookd/hookd/internal/store"
)

// DefaultMaxConns is the pool size when Options.MaxConns is zero.
const DefaultMaxConns = 32

// Group commit parameters.
const (
	defaultMaxBatch = 128 // operations in one transaction
	defaultWriters  = 2   // writer goroutines, each committing its own batches (measured best of 1-8 on 2 cores)
)

// dueChannel is the LISTEN/NOTIFY channel of store.DueListener.
const dueChannel = "hookd_due"

// endpointsChannel carries endpoint changes: every node listening
// (ListenDue's connection) drops its fan-out cache on a signal.
const endpointsChannel = "hookd_endpoints"

// Fan-out cache bounds: an app's endpoint list is kept at most
// fanoutCacheTTL even without a signal (a lost one, or a node that does
// not listen), for at most fanoutCacheApps apps.
const (
	fanoutCacheTTL  = 2 * time.Second
	fanoutCacheApps = 10000
)

// Options configures Open. The zero value (or nil) is fine.
type Options struct {
	// Logger receives the store's logs; nil discards them.
	Logger *slog.Logger
	// MaxConns is the size of the connection pool; zero means
	// DefaultMaxConns.
	MaxConns int32
	// SkipMigrate makes Open leave the schema alone. If migrations are
	// pending, Open then fails with an error that says to run
	// `hookd migrate up`.
	SkipMigrate bool
	// Keyring seals endpoint secrets at rest (see store.SecretSealer);
	// nil stores them in plaintext.
	Keyring *secrets.Keyring
	// GatherGap and GatherMax tune how a group commit gathers operations
	// under load (see store.Gatherer): it waits up to GatherGap for each
	// further operation, at most GatherMax in all (store.DefaultGatherGap
	// and store.DefaultGatherMax if zero; a negative GatherGap never
	// waits).
	GatherGap time.Duration
	GatherMax time.Duration
	// RollupInterval is how often, at most, the rollups of recorded
	// attempts are written (see rollups.go): store.DefaultRollupInterval
	// if zero or negative.
	RollupInterval time.Duration
	// Clock times RollupInterval; nil is the real clock.
	Clock clockwork.Clock
}

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("pgstore: store is closed")

// Store is a store.Store on a PostgreSQL database. It is safe for
// concurrent use, and several Stores (in one process or many) may share a
// database.
type Store struct {
	log        *slog.Logger
	pool       *pgxpool.Pool
	connConfig *pgx.ConnConfig // for ListenDue's own connections
	// keyring seals endpoint secrets; nil: no encryption.
	keyring *secrets.Keyring
	fanout  *store.FanoutCache

	maxBatch int
	ops      chan groupOp
	// gather completes the writers' batches; gatherMu lets one writer at
	// a time gather (the other runs its batch meanwhile), so that two
	// writers do not split one wave of operations between them.
	gather   *store.Gatherer[groupOp]
	gatherMu sync.Mutex

	mu         sync.RWMutex // guards closed against enqueueing
	closed     bool
	quit       chan struct{} // closed by Close
	writerDone sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error

	// leases are, per owner, the ids of the deliveries this Store leased
	// (see leases.go).
	leases store.LeaseSet

	// claimAfter is the seq of the last endpoint ClaimDeliveries served;
	// the next claim starts after it.
	claimAfter atomic.Int64

	// noBulk makes groups run each op as a statement of its own (to
	// compare, in benchmarks).
	noBulk bool

	// listenPID is the backend pid of ListenDue's connection (of the
	// latest call), for tests.
	listenPID atomic.Uint32

	// health remembers writes that failed for want of the database, for
	// Ready.
	health store.WriteHealth

	// rollups holds the rollups of committed attempts not yet written
	// (see rollups.go). flushSem (of one) is held by whoever writes what
	// it took from rollups, until that transaction has ended; lastFlush (Unix
	// ns, of the clock) is when that last began.
	rollups     store.RollupBuffer
	rollupEvery time.Duration
	clock       clockwork.Clock
	flushSem    chan struct{}
	lastFlush   atomic.Int64
	flusherDone chan struct{}

	// Counters for tests and diagnostics.
	nRollupFlushes atomic.Int64 // transactions that wrote rollups
	nRollupRows    atomic.Int64 // rollup rows they upserted
	nBatches       atomic.Int64 // group transactions run
	nOps           atomic.Int64 // operations run in them
	nRetries       atomic.Int64 // batches run again one operation at a time
	nBulk          atomic.Int64 // InsertEvents batches stored in one statement
}

var (
	_ store.Store       = (*Store)(nil)
	_ store.DueListener = (*Store)(nil)
	_ store.SlotLeaser  = (*Store)(nil)
)

// parseDSN parses dsn into a pool configuration whose connections all run
// with synchronous_commit=on.
func parseDSN(dsn string) (*pgxpool.Config, error) {
	if dsn == "" {
		return nil, errors.New("pgstore: empty DSN")
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: DSN: %w", err)
	}
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	// A write is acknowledged only once it is on disk.
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	// Times are timestamptz, read in binary whatever the zone; goose's
	// version table has a timestamp without zone, in the session's.
	if cfg.ConnConfig.RuntimeParams["timezone"] == "" && cfg.ConnConfig.RuntimeParams["TimeZone"] == "" {
		cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "hookd"
	}
	return cfg, nil
}

// Open connects to the database at dsn (a PostgreSQL URL or key=value
// string; search_path may be set in it) and, unless opts.SkipMigrate,
// applies pending migrations. opts may be nil.
func Open(ctx context.Context, dsn string, opts *Options) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := parseDSN(dsn)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = opts.MaxConns
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	cfg.MaxConnIdleTime = 5 * time.Minute

	if opts.SkipMigrate {
		pending, err := pendingMigrations(ctx, cfg.ConnConfig)
		if err != nil {
			return nil, err
		}
		if len(pending) > 0 {
			return nil, fmt.Errorf("pgstore: the database schema is behind (%d migration(s) pending, first %d %s): run `hookd migrate up`",
				len(pending), pending[0].Version, pending[0].Name)
		}
	} else {
		applied, err := migrateUp(ctx, cfg.ConnConfig, log)
		if err != nil {
			return nil, err
		}
		for _, m := range applied {
			log.Info("pgstore: applied migration", "version", m.Version, "name", m.Name)
		}
	}

	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: connect: %w", err)
	}
	clock := opts.Clock
	if clock == nil {
		clock = clockwork.NewRealClock()
	}
	every := opts.RollupInterval
	if every <= 0 {
		every = store.DefaultRollupInterval
	}
	s := &Store{
		clock:       clock,
		rollupEvery: every,
		flusherDone: make(chan struct{}),
		flushSem:    make(chan struct{}, 1),
		fanout:      store.NewFanoutCache(fanoutCacheTTL, fanoutCacheApps),
		log:         log,
		pool:        pool,
		connConfig:  cfg.ConnConfig.Copy(),
		keyring:     opts.Keyring,
		maxBatch:    defaultMaxBatch,
		ops:         make(chan groupOp, defaultMaxBatch*defaultWriters),
		quit:        make(chan struct{}),
	}
	s.lastFlush.Store(clock.Now().UnixNano())
	gap, gmax := opts.GatherGap, opts.GatherMax
	if gap == 0 {
		gap = store.DefaultGatherGap
	}
	if gmax <= 0 {
		gmax = store.DefaultGatherMax
	}
	s.gather = &store.Gatherer[groupOp]{Ops: s.ops, Quit: s.quit, MaxBatch: s.maxBatch, Gap: gap, Max: gmax}
	for range defaultWriters {
		s.writerDone.Add(1)
		go s.writer()
	}
	go s.rollupFlusher()
	return s, nil
}

// Ping checks that the database is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if s.isClosed() {
		return ErrClosed
	}
	if err := s.pool.Ping(ctx); err != nil {
		return dbErr("ping", err)
	}
	return nil
}

// Close stops the writers (after the operations already queued have run),
// writes the pending rollups, and closes the pool, waiting for the
// connections in use. Calls after Close fail; a second Close returns the
// first one's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.quit)
		s.mu.Unlock()
		s.writerDone.Wait()
		<-s.flusherDone
		s.finalFlush()
		s.pool.Close()
	})
	return s.closeErr
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// querier is a pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// maxTxTries bounds how often tx runs a transaction that PostgreSQL
// aborted for a deadlock or a serialization failure.
const maxTxTries = 4

// tx runs fn in a transaction of its own and commits it. fn's error is
// returned as it is (it wraps database errors itself), except that one that
// means the database is unavailable wraps store.ErrUnavailable (and is
// recorded for Ready); a transaction aborted by a deadlock is run again, so
// fn must be safe to run twice.
func (s *Store) tx(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	if s.isClosed() {
		return ErrClosed
	}
	return s.txRetry(ctx, what, fn)
}

// txRetry is tx on a store that may be closing (its pool still open).
func (s *Store) txRetry(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	var err error
	for try := 1; ; try++ {
		err = s.tx1(ctx, what, fn)
		if try >= maxTxTries || !isRetryable(err) || ctx.Err() != nil {
			err = classify(err)
			if ctx.Err() == nil {
				// (A failure on the caller's deadline says
				// nothing of the database's state.)
				s.health.Record(err)
			}
			return err
		}
		s.log.Debug("pgstore: transaction retried", "what", what, "err", err)
	}
}

func (s *Store) tx1(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return dbErr(what+": begin", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return dbErr(what+": commit", err)
	}
	return nil
}

// --- group commit ---

// groupOp is a write that may share a transaction with others.
type groupOp interface {
	// base returns the op's caller context and result channel.
	base() *opBase
	// sortKey orders a batch, so that every batch takes its row locks in
	// the same order.
	sortKey() string
	// queue adds the op's statements to a batch, and read reads their
	// results; an error from read fails the whole batch. queue and read
	// must (re)set the op's results, as an op may run again alone.
	queue(b *pgx.Batch)
	read(br pgx.BatchResults) error
	// finish runs, in the batch's transaction, after every op has been
	// read: what needs a statement of its own (e.g. reading a replayed
	// event). An error fails the batch; an error of the op's own that
	// leaves the transaction as it was goes to base().err instead.
	finish(ctx context.Context, tx pgx.Tx) error
	// alone runs the op in a transaction of its own, with exact errors.
	alone(ctx context.Context, tx pgx.Tx) error
	// notify returns, once the op has run, the owner to signal on
	// hookd_due in its transaction, and whether to signal at all.
	notify() (owner string, ok bool)
}

// opBase is what every groupOp carries.
type opBase struct {
	ctx  context.Context
	done chan error // buffered: the writer never blocks on it
	// err is the op's own failure in a batch that commits: one that
	// wrote nothing (e.g. an event for an unknown app).
	err error
}

func (b *opBase) base() *opBase { return b }

// group hands op to the writers and waits for its result. An error that
// means the database is unavailable wraps store.ErrUnavailable.
func (s *Store) group(ctx context.Context, op groupOp) error {
	return classify(s.group1(ctx, op))
}

func (s *Store) group1(ctx context.Context, op groupOp) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := op.base()
	b.ctx, b.done = ctx, make(chan error, 1)
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return ErrClosed
	}
	select {
	case s.ops <- op:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	select {
	case err := <-b.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writer is one of the goroutines that run the queued operations.
func (s *Store) writer() {
	defer s.writerDone.Done()
	batch := make([]groupOp, 0, s.maxBatch)
	for {
		batch = batch[:0]
		s.gatherMu.Lock()
		select {
		case op := <-s.ops:
			batch = append(batch, op)
		case <-s.quit:
			s.gatherMu.Unlock()
			// No one can enqueue any more (Close holds the lock while
			// closing quit); run what is left, then stop.
			for {
				batch = s.take(batch[:0])
				if len(batch) == 0 {
					return
				}
				s.runBatch(batch)
			}
		}
		batch = s.gather.Batch(batch)
		s.gatherMu.Unlock()
		s.runBatch(batch)
	}
}

// take appends what is queued, without waiting, up to maxBatch.
func (s *Store) take(batch []groupOp) []groupOp {
	for len(batch) < s.maxBatch {
		select {
		case op := <-s.ops:
			batch = append(batch, op)
		default:
			return batch
		}
	}
	return batch
}

// runBatch runs the operations in one transaction and reports each one's
// result after the commit; if the batch fails, each runs alone.
func (s *Store) runBatch(batch []groupOp) {
	live := make([]groupOp, 0, len(batch))
	for _, op := range batch {
		if err := op.base().ctx.Err(); err != nil {
			op.base().done <- err // the waiter has gone; skip the work
			continue
		}
		live = append(live, op)
	}
	if len(live) == 0 {
		return
	}
	slices.SortStableFunc(live, func(a, b groupOp) int { return strings.Compare(a.sortKey(), b.sortKey()) })
	s.nBatches.Add(1)
	s.nOps.Add(int64(len(live)))
	err := s.runGroup(live)
	if err == nil {
		for _, op := range live {
			op.base().done <- op.base().err
		}
		return
	}
	s.nRetries.Add(1)
	s.log.Debug("pgstore: batch failed; running its operations one by one", "ops", len(live), "err", err)
	for _, op := range live {
		err := classify(s.runAlone(op))
		s.health.Record(err)
		if err == nil {
			s.committed(op)
		}
		op.base().done <- err
	}
}

// runGroup runs ops in one transaction, pipelined.
func (s *Store) runGroup(ops []groupOp) error {
	ctx := context.Background()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	b := &pgx.Batch{}
	events, records, rest := s.bulk(ops)
	for _, op := range ops {
		op.base().err = nil
	}
	bulk := len(events) > 0 || len(records) > 0
	if bulk {
		queuePlanned(b, func(b *pgx.Batch) {
			if len(events) > 0 {
				queueInsertEvents(b, events)
			}
			if len(records) > 0 {
				queueRecordAttempts(b, records)
			}
		})
	}
	for _, op := range rest {
		op.queue(b)
	}
	br := tx.SendBatch(ctx, b)
	if bulk {
		err := readPlanned(br, func(br pgx.BatchResults) error {
			if len(events) > 0 {
				if err := readInsertEvents(br, events); err != nil {
					return err
				}
			}
			if len(records) > 0 {
				return readRecordAttempts(br, records)
			}
			return nil
		})
		if err != nil {
			_ = br.Close()
			return err
		}
	}
	for _, op := range rest {
		if err := op.read(br); err != nil {
			_ = br.Close()
			return err
		}
	}
	if err := br.Close(); err != nil {
		return err
	}
	for _, op := range ops {
		if err := op.finish(context.WithoutCancel(op.base().ctx), tx); err != nil {
			return err
		}
	}
	if owners := notifyOwners(ops); len(owners) > 0 {
		if _, err := tx.Exec(ctx, `SELECT pg_notify('`+dueChannel+`', o) FROM unnest($1::text[]) AS o`, owners); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	// Committed: the leases granted and ended, and the attempts' rollups
	// (which wait for the next flush).
	for _, op := range ops {
		if op.base().err == nil {
			s.committed(op)
		}
	}
	return nil
}

// bulk splits a sorted batch: the events to insert in one statement, the
// attempts to record in one statement (the first of each delivery's;
// PostgreSQL's UPDATE ... FROM applies one row per target), and the rest,
// one statement each, run after them. Kinds with fewer than two ops go
// with the rest.
func (s *Store) bulk(ops []groupOp) (events []*insertEventOp, records []*recordAttemptOp, rest []groupOp) {
	if s.noBulk {
		return nil, nil, ops
	}
	for _, op := range ops {
		switch op := op.(type) {
		case *insertEventOp:
			events = append(events, op)
			continue
		case *recordAttemptOp:
			if n := len(records); n == 0 || records[n-1].a.DeliveryID != op.a.DeliveryID {
				records = append(records, op)
				continue
			}
		}
		rest = append(rest, op)
	}
	if len(events) < 2 {
		for _, op := range events {
			rest = append(rest, op)
		}
		events = nil
	}
	if len(records) < 2 {
		for _, op := range records {
			rest = append(rest, op)
		}
		records = nil
	}
	return events, records, rest
}

// runAlone runs op in a transaction of its own.
func (s *Store) runAlone(op groupOp) error {
	ctx := context.WithoutCancel(op.base().ctx)
	var err error
	for try := 1; ; try++ {
		err = s.tx1(ctx, "write", func(tx pgx.Tx) error {
			if err := op.alone(ctx, tx); err != nil {
				return err
			}
			if owner, ok := op.notify(); ok {
				return notify(ctx, tx, owner)
			}
			return nil
		})
		if try >= maxTxTries || !isRetryable(err) {
			return err
		}
	}
}

func notifyOwners(ops []groupOp) []string {
	var owners []string
	for _, op := range ops {
		if o, ok := op.notify(); ok && !slices.Contains(owners, o) {
			owners = append(owners, o)
		}
	}
	return owners
}

// notify signals hookd_due when tx commits; owner is the payload.
func notify(ctx context.Context, q querier, owner string) error {
	if _, err := q.Exec(ctx, `SELECT pg_notify('`+dueChannel+`', $1)`, owner); err != nil {
		return dbErr("notify", err)
	}
	return nil
}

// --- errors ---

// PostgreSQL error codes.
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeInvalidJSON         = "22P02"
	codeBadText             = "22021" // character_not_in_repertoire
	codeDeadlock            = "40P01"
	codeSerialization       = "40001"
)

func pgCode(err error) (code, constraint string) {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code, e.ConstraintName
	}
	return "", ""
}

// uniqueViolation reports whether err violates the named unique constraint.
func uniqueViolation(err error, constraint string) bool {
	code, c := pgCode(err)
	return code == codeUniqueViolation && c == constraint
}

// foreignKeyViolation reports whether err violates the named foreign key.
func foreignKeyViolation(err error, constraint string) bool {
	code, c := pgCode(err)
	return code == codeForeignKeyViolation && c == constraint
}

func isRetryable(err error) bool {
	code, _ := pgCode(err)
	return code == codeDeadlock || code == codeSerialization
}

// dbErr wraps a database error. PostgreSQL's refusal of a text that is
// not valid UTF-8 or holds a NUL byte (which SQLite would have stored) is
// the caller's fault: EInvalid. An error that means the database is
// unavailable wraps store.ErrUnavailable.
func dbErr(what string, err error) error {
	if code, _ := pgCode(err); code == codeBadText {
		return hook.Errorf(hook.EInvalid, "", "%s: a text is not valid UTF-8 or holds a NUL byte", what)
	}
	return classify(fmt.Errorf("pgstore: %s: %w", what, err))
}

// cleanText makes s storable as PostgreSQL text: invalid UTF-8 (e.g. a
// response body cut in the middle of a character) and NUL bytes become
// U+FFFD.
func cleanText(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
