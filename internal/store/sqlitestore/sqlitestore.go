// Package sqlitestore implements store.Store on SQLite, with the pure-Go
// driver modernc.org/sqlite (no cgo).
//
// # Process ownership
//
// Open takes an exclusive advisory lock (flock) on PATH.lock, so two hookd
// processes never share one database file; this is what makes
// ReleaseAllLeases safe to call at start.
//
// # Durability and group commit
//
// The database runs in WAL mode with synchronous=FULL: a write method returns
// only after the transaction holding its change has committed and been
// fsync'ed. An fsync is the dominant cost of a small transaction, so writes
// are committed in groups: every write method hands an operation to a single
// writer goroutine, which owns the only write connection. The writer takes
// the first queued operation, then whatever else is already queued (up to
// Options.MaxBatch), and runs them all in one transaction, each inside its
// own SAVEPOINT. An operation that fails is rolled back to its savepoint and
// gets its own error; the others still commit. (To spare the savepoints'
// cost, a batch first runs without them; only if an operation fails is it
// rolled back and run again with them: see runBatch.) After the single
// COMMIT, every waiter is told its result; if the COMMIT fails, every
// operation of the batch gets that error. A batch is whatever queued up
// while the previous one committed, plus, under load only, what comes in
// the next few hundred microseconds (see store.Gatherer: a commit's bytes and fsync
// are paid per commit, so wider commits write less per delivery); a lone
// write after a lone write is never delayed.
//
// New database files get 1 KiB pages (DefaultPageSize): SQLite writes whole
// pages, and a delivery dirties about 25 B-trees' leaves per commit.
// The rollups of recorded attempts ride on batches at most once per
// Options.RollupInterval; one timer writes them when no batch comes (see
// rollups.go).
//
// A caller whose context ends while its operation is queued gets ctx.Err()
// and its operation is skipped if the writer has not started it yet. Once
// the writer has taken it into a batch, the operation runs and commits (or
// not) regardless of the caller: a cancelled caller cannot tell whether its
// write happened.
//
// Reads go through a separate pool of read-only connections and never wait
// for the writer; under WAL they see the last committed state.
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hookd/hookd/internal/secrets"
	"github.com/hookd/hookd/internal/store"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// DefaultMaxBatch is the default Options.MaxBatch.
const DefaultMaxBatch = 256

// Options configures Open. The zero value (or nil) is fine.
type Options struct {
	// Logger receives the store's logs; nil discards them.
	Logger *slog.Logger
	// MaxBatch caps how many write operations share one transaction
	// (DefaultMaxBatch if zero or negative).
	MaxBatch int
	// GatherGap and GatherMax tune how a commit gathers operations under
	// load (see store.Gatherer): it waits up to GatherGap for each further
	// operation, at most GatherMax in all (store.DefaultGatherGap and
	// store.DefaultGatherMax if zero; a negative GatherGap never waits).
	GatherGap time.Duration
	GatherMax time.Duration
	// PageSize is the page size of a new database file: a power of two
	// from 512 to 65536 (DefaultPageSize if zero). An existing file keeps
	// the page size it was made with.
	PageSize int
	// SkipMigrate leaves the schema as it is; Open fails if migrations
	// are pending, saying to run `hookd migrate up`.
	SkipMigrate bool
	// Keyring seals endpoint secrets at rest (see store.SecretSealer);
	// nil stores them in plaintext.
	Keyring *secrets.Keyring
	// RollupInterval is how often, at most, the rollups of recorded
	// attempts are written (see rollups.go): store.DefaultRollupInterval
	// if zero or negative.
	RollupInterval time.Duration
	// Clock times RollupInterval; nil is the real clock.
	Clock clockwork.Clock
}

// ErrClosed is returned by writes after Close.
var ErrClosed = errors.New("sqlitestore: store is closed")

// fanoutCacheApps bounds how many apps' fan-out lists the store keeps in
// memory. Only this process writes the file (it holds a lock on it), so a
// cached list is exact until the store's own next endpoint write.
const fanoutCacheApps = 10000

// Store is a store.Store on one SQLite file. It is safe for concurrent use.
type Store struct {
	path     string
	log      *slog.Logger
	maxBatch int
	// gatherGap and gatherMax: see Options.GatherGap.
	gatherGap, gatherMax time.Duration
	pageSize             int // of a new file
	skipMig              bool
	lock                 *os.File
	keyring              *secrets.Keyring // nil: no encryption
	fanout               *store.FanoutCache

	wdb *sql.DB // one connection, used only by the writer goroutine
	rdb *sql.DB // read-only pool

	ops        chan *writeOp
	mu         sync.RWMutex // guards closed against enqueueing
	closed     bool
	quit       chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
	closeErr   error

	stmts stmts

	// health remembers writes that failed for want of the database, for
	// Ready.
	health store.WriteHealth

	// claimAfter is the seq of the last endpoint ClaimDeliveries served;
	// the next claim starts after it. Only the writer goroutine touches it.
	claimAfter int64

	// attemptSeq is the last attempt seq given out (see inline.go).
	// Only the writer goroutine touches it, once Open has set it.
	attemptSeq int64

	// leases are the deliveries leased per owner (see leases.go). Only
	// the writer goroutine touches them.
	leases store.LeaseSet

	// rollups holds the rollups of committed attempts not yet written
	// (see rollups.go); the writer goroutine writes them.
	rollups store.RollupBuffer
	// flushing is set while a transaction that took the pending rollups
	// has not yet committed (or failed): they are then neither pending
	// nor stored, and a read must wait for that transaction.
	flushing    atomic.Bool
	rollupEvery time.Duration
	clock       clockwork.Clock
	// lastFlush is when the rollups were last written (or the store
	// opened). Only the writer goroutine touches it.
	lastFlush time.Time

	// Counters for tests and diagnostics.
	nBatches atomic.Int64 // transactions committed (or tried)
	nOps     atomic.Int64 // operations run in them
	nRetries atomic.Int64 // batches run again with savepoints
	// nRollupFlushes counts the transactions that wrote rollups, and
	// nRollupRows the rollup rows they upserted.
	nRollupFlushes atomic.Int64
	nRollupRows    atomic.Int64
}

var _ store.Store = (*Store)(nil)

// writeOp is one write operation waiting for the writer.
type writeOp struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error // buffered: the writer never blocks on it
	// truncateWAL asks the writer, once fn has committed, to checkpoint
	// the WAL into the database file and truncate it, before the result
	// is reported (see writeTruncatingWAL).
	truncateWAL bool
	// rollup, when not nil, is where fn puts (afresh on each run) what
	// its attempt adds to the delivery rollups; once the transaction has
	// committed, runTx adds those of the batch's successful ops to
	// Store.rollups (or writes them in the transaction, with what is
	// pending, when a flush is due: see rollups.go).
	rollup *attemptRollup
	// flushRollups makes the transaction write the pending rollups
	// whatever the time since the last flush (see flushRollups).
	flushRollups bool
	// committed, when not nil, runs on the writer goroutine once the
	// transaction has committed with fn's result nil, before the
	// result is reported (see writeThen).
	committed func()
}

// attemptRollup is a RecordAttempt's contribution to the rollups, if set.
type attemptRollup struct {
	set bool
	r   store.AttemptRollup
}

// Open opens (creating if needed) the database at path, locks it for this
// process, and applies the migrations. opts may be nil.
func Open(ctx context.Context, path string, opts *Options) (*Store, error) {
	if opts == nil {
		opts = &Options{}
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	maxBatch := opts.MaxBatch
	if maxBatch <= 0 {
		maxBatch = DefaultMaxBatch
	}
	gap, gmax := opts.GatherGap, opts.GatherMax
	if gap == 0 {
		gap = store.DefaultGatherGap
	}
	if gmax <= 0 {
		gmax = store.DefaultGatherMax
	}
	pageSize := opts.PageSize
	if pageSize == 0 {
		pageSize = DefaultPageSize
	}
	if pageSize < 512 || pageSize > 65536 || pageSize&(pageSize-1) != 0 {
		return nil, fmt.Errorf("sqlitestore: page size %d is not a power of two from 512 to 65536", pageSize)
	}
	if path == "" {
		return nil, errors.New("sqlitestore: empty database path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}

	lock, err := lockFile(abs)
	if err != nil {
		return nil, err
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
		lastFlush:   clock.Now(),
		fanout:      store.NewFanoutCache(0, fanoutCacheApps),
		path:        abs,
		log:         log,
		maxBatch:    maxBatch,
		gatherGap:   gap,
		gatherMax:   gmax,
		pageSize:    pageSize,
		skipMig:     opts.SkipMigrate,
		lock:        lock,
		keyring:     opts.Keyring,
		ops:         make(chan *writeOp, maxBatch),
		quit:        make(chan struct{}),
		writerDone:  make(chan struct{}),
	}
	if err := s.open(ctx); err != nil {
		s.closeDBs()
		_ = unlockFile(lock)
		return nil, err
	}
	go s.writer()
	return s, nil
}

// dsn returns the driver's DSN for the file with the given query.
func dsn(path, query string) string {
	u := url.URL{Path: path}
	return "file:" + u.EscapedPath() + "?" + query
}

func (s *Store) open(ctx context.Context) error {
	var err error
	if err := createFile(ctx, s.path, s.pageSize); err != nil {
		return err
	}
	// The writer: WAL, full fsync on commit, BEGIN IMMEDIATE so a batch
	// never has to upgrade its lock.
	s.wdb, err = sql.Open("sqlite", dsn(s.path,
		"_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)"+
			"&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)&_txlock=immediate"))
	if err != nil {
		return fmt.Errorf("sqlitestore: open %s: %w", s.path, err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	if err := s.wdb.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlitestore: open %s: %w", s.path, err)
	}
	if err := tuneWriter(ctx, s.wdb); err != nil {
		return fmt.Errorf("sqlitestore: open %s: %w", s.path, err)
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	if err := s.loadAttemptSeq(ctx); err != nil {
		return err
	}

	s.rdb, err = sql.Open("sqlite", dsn(s.path,
		"_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=cache_size(-16000)&_pragma=query_only(1)"))
	if err != nil {
		return fmt.Errorf("sqlitestore: open %s: %w", s.path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	s.rdb.SetMaxOpenConns(n)
	s.rdb.SetMaxIdleConns(n)
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlitestore: open %s: %w", s.path, err)
	}
	return s.prepare(ctx)
}

func (s *Store) migrate(ctx context.Context) error {
	p, err := newProvider(s.wdb, s.log)
	if err != nil {
		return err
	}
	if s.skipMig {
		return checkCurrent(ctx, p, s.path)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("sqlitestore: migrate %s: %w", s.path, err)
	}
	for _, r := range res {
		s.log.Info("sqlitestore: applied migration", "version", r.Source.Version, "duration", r.Duration)
	}
	return nil
}

// Ping checks that the database is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if s.isClosed() {
		return ErrClosed
	}
	if err := s.rdb.PingContext(ctx); err != nil {
		return dbErr("ping", err)
	}
	var one int
	if err := s.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return dbErr("ping", err)
	}
	return nil
}

// Close stops the writer (after the operations already queued have run),
// closes the database and releases the file lock. Calls after Close fail;
// a second Close returns the first one's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		close(s.quit)
		s.mu.Unlock()
		<-s.writerDone
		err := s.closeDBs()
		if uerr := unlockFile(s.lock); uerr != nil && err == nil {
			err = uerr
		}
		s.closeErr = err
	})
	return s.closeErr
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

func (s *Store) closeDBs() error {
	var errs []error
	s.stmts.close()
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlitestore: close: %w", err)
	}
	return nil
}

// write runs fn in the writer goroutine, inside a transaction shared with
// other operations, and returns once that transaction has committed (or
// failed). fn runs with a context that carries ctx's values but not its
// cancellation: see the package documentation. fn may run twice (see
// runBatch): it must write only to tx and to its own results, which it must
// set afresh on each run. An error that means the database is unavailable
// (including ctx's deadline passing while the operation waits for the
// writer) wraps store.ErrUnavailable.
func (s *Store) write(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return classify(s.submit(ctx, &writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)}))
}

// writeTruncatingWAL is write, and then, before it returns, the writer
// copies the WAL into the database file and truncates the WAL to nothing
// (PRAGMA wal_checkpoint(TRUNCATE)), so that no earlier version of the
// pages fn changed is left in the WAL. The checkpoint waits (up to the
// busy timeout) for readers still using the WAL, holding up the writes
// queued meanwhile; if it cannot finish, that is logged and fn's result
// stands.
func (s *Store) writeTruncatingWAL(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	return classify(s.submit(ctx, &writeOp{ctx: ctx, fn: fn, done: make(chan error, 1), truncateWAL: true}))
}

// submit hands op to the writer and waits for its result.
func (s *Store) submit(ctx context.Context, op *writeOp) error {
	if err := ctx.Err(); err != nil {
		return err
	}
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
	case err := <-op.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// writer is the single goroutine that owns the write connection. It also
// writes the pending rollups when their interval has run out and no batch
// came to carry them (see rollups.go), and before it stops.
func (s *Store) writer() {
	defer close(s.writerDone)
	batch := make([]*writeOp, 0, s.maxBatch)
	g := &store.Gatherer[*writeOp]{Ops: s.ops, Quit: s.quit, MaxBatch: s.maxBatch, Gap: s.gatherGap, Max: s.gatherMax}
	var timer clockwork.Timer
	var timerC <-chan time.Time
	for {
		batch = batch[:0]
		select {
		case op := <-s.ops:
			batch = append(batch, op)
		case <-timerC:
			timerC = nil
			if s.rollups.Len() > 0 {
				batch = append(batch, s.flushOp())
			}
		case <-s.quit:
			// No one can enqueue any more (Close holds the lock while
			// closing quit); run what is left, then stop.
			if timerC != nil {
				timer.Stop()
			}
			for {
				batch = batch[:0]
			drain:
				for len(batch) < s.maxBatch {
					select {
					case op := <-s.ops:
						batch = append(batch, op)
					default:
						break drain
					}
				}
				if len(batch) == 0 {
					break
				}
				s.runBatch(batch)
			}
			s.finalFlush()
			return
		}
		if len(batch) > 0 {
			batch = g.Batch(batch)
			s.runBatch(batch)
		}
		// A timer runs while rollups are pending, for when no batch
		// comes to carry them.
		switch pending := s.rollups.Len() > 0; {
		case pending && timerC == nil:
			timer = s.clock.NewTimer(max(s.rollupEvery-s.clock.Since(s.lastFlush), 0))
			timerC = timer.Chan()
		case !pending && timerC != nil:
			timer.Stop()
			timerC = nil
		}
	}
}

// runBatch runs the operations in one transaction and reports each one's
// result after the commit.
//
// It first runs them optimistically, without savepoints: a savepoint makes
// SQLite copy every page an operation touches to a sub-journal, which costs
// about as much as the operation itself, and operations rarely fail. If one
// does fail, the whole transaction is rolled back and the batch runs again
// with a SAVEPOINT around each operation, so that the failing one is rolled
// back alone and gets its error while the others commit. An operation may
// therefore run twice; its fn must only write to the transaction and to its
// own result variables, which it must (re)set on every run.
func (s *Store) runBatch(batch []*writeOp) {
	live := batch[:0:0]
	for _, op := range batch {
		if err := op.ctx.Err(); err != nil {
			op.done <- err // the waiter has gone; skip the work
			continue
		}
		live = append(live, op)
	}
	if len(live) == 0 {
		return
	}
	s.nBatches.Add(1)
	s.nOps.Add(int64(len(live)))
	if s.runTx(live, false) {
		return
	}
	s.nRetries.Add(1)
	s.runTx(live, true)
}

// runTx runs ops in one transaction, each in its own savepoint if
// savepoints is set, commits and reports the results. Without savepoints,
// if more than one op runs and one fails, it rolls back and returns false
// having reported nothing.
//
// A result that means the database is unavailable is reported as such
// (wrapping store.ErrUnavailable), and recorded for Ready.
func (s *Store) runTx(ops []*writeOp, savepoints bool) bool {
	report := func(op *writeOp, err error) {
		err = classify(err)
		s.health.Record(err)
		op.done <- err
	}
	fail := func(err error) bool {
		for _, op := range ops {
			report(op, err)
		}
		return true
	}
	bg := context.Background()
	tx, err := s.wdb.BeginTx(bg, nil)
	if err != nil {
		s.log.Error("sqlitestore: begin", "err", err)
		return fail(fmt.Errorf("sqlitestore: begin: %w", err))
	}
	errs := make([]error, len(ops))
	for i, op := range ops {
		if savepoints {
			if _, err := tx.ExecContext(bg, "SAVEPOINT op"); err != nil {
				_ = tx.Rollback()
				return fail(fmt.Errorf("sqlitestore: savepoint: %w", err))
			}
		}
		errs[i] = op.fn(context.WithoutCancel(op.ctx), tx)
		if !savepoints {
			if errs[i] != nil {
				_ = tx.Rollback()
				if len(ops) == 1 {
					report(op, errs[i]) // nothing else to keep
					return true
				}
				return false
			}
			continue
		}
		if errs[i] != nil {
			if _, err := tx.ExecContext(bg, "ROLLBACK TO op"); err != nil {
				// SQLite has rolled back the whole transaction
				// (e.g. on an I/O error): nothing of the batch
				// stands.
				_ = tx.Rollback()
				s.log.Error("sqlitestore: transaction lost", "err", err, "cause", errs[i])
				lost := fmt.Errorf("sqlitestore: transaction lost after %v: %w", errs[i], err)
				if ue, ok := store.AsUnavailable(classify(errs[i])); ok {
					// E.g. SQLITE_FULL, after which SQLite may roll
					// the whole transaction back.
					lost = store.Unavailable(ue.Reason, lost)
				}
				return fail(lost)
			}
		}
		if _, err := tx.ExecContext(bg, "RELEASE op"); err != nil {
			_ = tx.Rollback()
			return fail(fmt.Errorf("sqlitestore: release savepoint: %w", err))
		}
	}
	// The rollups: written in this transaction with what is pending
	// when a flush is due, else kept for later once it has committed.
	rs, force := batchRollups(ops, errs)
	flush := s.flushDue(force, len(rs))
	var taken []store.AttemptRollup
	if flush {
		taken = s.takeRollups()
		if err := s.writeRollups(tx, append(taken[:len(taken):len(taken)], rs...)); err != nil {
			_ = tx.Rollback()
			s.rollups.Restore(taken)
			s.flushing.Store(false)
			s.log.Error("sqlitestore: rollups", "err", err, "ops", len(ops))
			return fail(dbErr("record attempt: rollups", err))
		}
	}
	if err := tx.Commit(); err != nil {
		s.rollups.Restore(taken)
		s.flushing.Store(false)
		s.log.Error("sqlitestore: commit", "err", err, "ops", len(ops))
		return fail(fmt.Errorf("sqlitestore: commit: %w", err))
	}
	s.flushing.Store(false)
	if !flush {
		s.rollups.Add(rs...)
	}
	for i, op := range ops {
		if op.committed != nil && errs[i] == nil {
			op.committed()
		}
	}
	for i, op := range ops {
		if op.truncateWAL && errs[i] == nil {
			s.truncateWAL()
			break
		}
	}
	for i, op := range ops {
		report(op, errs[i])
	}
	return true
}

// truncateWAL checkpoints the whole WAL into the database file and
// truncates it (on the writer's connection, between transactions). It
// logs what it could not do.
func (s *Store) truncateWAL() {
	var busy, logFrames, checkpointed int
	err := s.wdb.QueryRowContext(context.Background(), `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logFrames, &checkpointed)
	switch {
	case err != nil:
		s.log.Error("sqlitestore: WAL checkpoint", "err", err)
	case busy != 0:
		s.log.Warn("sqlitestore: WAL checkpoint could not finish (readers held the WAL); "+
			"what was overwritten stays in the WAL until a later checkpoint", "wal_frames", logFrames, "checkpointed", checkpointed)
	}
}

// --- shared helpers ---

// ms converts a time to the stored form: unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

// fromMS converts a stored time back: UTC, millisecond precision.
func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// msTime returns t as it will be read back.
func msTime(t time.Time) time.Time { return fromMS(ms(t)) }

// nullMS stores a zero time as NULL.
func nullMS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: ms(t), Valid: true}
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sqliteCode returns the extended result code of a driver error, 0 if err
// is not one.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// uniqueViolation reports whether err is a UNIQUE or PRIMARY KEY violation
// of the given column ("table.column").
func uniqueViolation(err error, column string) bool {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return strings.Contains(err.Error(), column)
	}
	return false
}

func isForeignKeyViolation(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// dbErr wraps a database error; one that means the database is
// unavailable wraps store.ErrUnavailable too.
func dbErr(what string, err error) error {
	return classify(fmt.Errorf("sqlitestore: %s: %w", what, err))
}
