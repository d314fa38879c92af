package store

import (
	"context"
	"sync"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

// FanoutCache keeps each app's fan-out endpoint list (ListFanoutEndpoints)
// in memory, so that publishing an event does not read and decrypt the
// app's endpoints every time. Backends own one and call Invalidate after
// every write that can change an endpoint (create, update, delete,
// rotation, disabling, re-sealing, deleting the app): a list read before a
// write is never served after it.
//
// A backend that other processes write to as well (PostgreSQL with several
// nodes) also invalidates on their notifications and sets a TTL, so a
// change made elsewhere is seen within it even if a notification is lost.
//
// The lists it returns are shared: callers must not modify them or the
// endpoints in them.
type FanoutCache struct {
	ttl     time.Duration
	maxApps int
	now     func() time.Time

	mu   sync.Mutex
	gen  uint64 // bumped by Invalidate
	apps map[string]fanoutEntry
}

type fanoutEntry struct {
	eps []*hook.Endpoint
	gen uint64
	at  time.Time
}

// NewFanoutCache returns a cache of at most maxApps apps' lists (at least
// 1). A ttl of 0 keeps a list until the next Invalidate.
func NewFanoutCache(ttl time.Duration, maxApps int) *FanoutCache {
	return &FanoutCache{ttl: ttl, maxApps: max(maxApps, 1), now: time.Now, apps: map[string]fanoutEntry{}}
}

// Load returns the app's cached list, or calls read, caches what it
// returns and returns it. A list read while an Invalidate happened is
// returned but not kept.
func (c *FanoutCache) Load(ctx context.Context, appID string, read func(context.Context) ([]*hook.Endpoint, error)) ([]*hook.Endpoint, error) {
	c.mu.Lock()
	e, ok := c.apps[appID]
	gen := c.gen
	if ok && e.gen == gen && (c.ttl == 0 || c.now().Sub(e.at) < c.ttl) {
		c.mu.Unlock()
		return e.eps, nil
	}
	c.mu.Unlock()

	at := c.now()
	eps, err := read(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if _, ok := c.apps[appID]; !ok && len(c.apps) >= c.maxApps {
			// Full: start again rather than track recency; a miss costs
			// one read.
			clear(c.apps)
		}
		c.apps[appID] = fanoutEntry{eps: eps, gen: gen, at: at}
	}
	c.mu.Unlock()
	return eps, nil
}

// Invalidate drops every cached list, and any list being read now.
func (c *FanoutCache) Invalidate() {
	c.mu.Lock()
	c.gen++
	clear(c.apps)
	c.mu.Unlock()
}
