// Package retention purges what is older than the configured age: events,
// with their deliveries and attempts, once none of their deliveries is
// pending. It works in small batches with pauses between them, so that it
// never holds the database long enough to slow the API or the dispatcher.
package retention

import (
	"context"
	"log/slog"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/internal/store"
)

// Config configures a Purger.
type Config struct {
	Store store.Store
	// MaxAge is how long events are kept; they go once older.
	MaxAge time.Duration
	// Batch is how many events one transaction looks at (default 500).
	Batch int
	// Pause is the wait between two batches of one sweep (default 50ms),
	// and Every the wait between sweeps (default 1m).
	Pause, Every time.Duration
	Clock        clockwork.Clock
	Logger       *slog.Logger
	// Registerer receives hookd_events_purged_total (nil: not registered).
	Registerer prometheus.Registerer
}

// Purger runs the retention sweeps.
type Purger struct {
	cfg    Config
	purged prometheus.Counter
}

// New builds a Purger.
func New(cfg Config) (*Purger, error) {
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.Pause <= 0 {
		cfg.Pause = 50 * time.Millisecond
	}
	if cfg.Every <= 0 {
		cfg.Every = time.Minute
	}
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p := &Purger{cfg: cfg, purged: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "hookd_events_purged_total",
		Help: "Events deleted by the retention purge, with their deliveries and attempts.",
	})}
	if cfg.Registerer != nil {
		if err := cfg.Registerer.Register(p.purged); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Run sweeps every Every until ctx is done.
func (p *Purger) Run(ctx context.Context) {
	for {
		if _, err := p.Sweep(ctx); err != nil && ctx.Err() == nil {
			p.cfg.Logger.Error("retention purge", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-p.cfg.Clock.After(p.cfg.Every):
		}
	}
}

// Sweep purges, batch by batch, everything older than MaxAge now, and
// returns how many events it deleted.
func (p *Purger) Sweep(ctx context.Context) (int, error) {
	before := p.cfg.Clock.Now().Add(-p.cfg.MaxAge)
	total, cursor := 0, ""
	for {
		res, err := p.cfg.Store.PurgeEvents(ctx, &store.PurgeEventsParams{Before: before, Limit: p.cfg.Batch, Cursor: cursor})
		if err != nil {
			return total, err
		}
		total += res.Deleted
		p.purged.Add(float64(res.Deleted))
		if res.Done {
			if total > 0 {
				p.cfg.Logger.Info("retention purge", "events", total, "older than", before.UTC().Format(time.RFC3339))
			}
			return total, nil
		}
		cursor = res.Cursor
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(p.cfg.Pause): // a breather for the writers, in real time
		}
	}
}
