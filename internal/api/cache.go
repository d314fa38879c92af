package api

import (
	"context"
	"sync"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// cacheTTL is how long this node trusts what it read of apps and event
// types on the ingest path. Writes made through this node invalidate at
// once; writes made through another node show within cacheTTL.
const cacheTTL = time.Second

// maxCacheEntries bounds each cache; when full it is emptied.
const maxCacheEntries = 10000

// ttlCache is a small map whose entries expire. Expiry uses the real clock
// (not Config.Now), so an injected clock does not freeze it.
type ttlCache[V any] struct {
	mu  sync.RWMutex
	ttl time.Duration
	m   map[string]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v   V
	exp time.Time
}

func newTTLCache[V any](ttl time.Duration) *ttlCache[V] {
	return &ttlCache[V]{ttl: ttl, m: make(map[string]ttlEntry[V])}
}

func (c *ttlCache[V]) get(key string) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok || time.Now().After(e.exp) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[V]) put(v V, keys ...string) {
	exp := time.Now().Add(c.ttl)
	c.mu.Lock()
	if len(c.m)+len(keys) > maxCacheEntries {
		clear(c.m)
	}
	for _, k := range keys {
		c.m[k] = ttlEntry[V]{v: v, exp: exp}
	}
	c.mu.Unlock()
}

func (c *ttlCache[V]) delete(key string) {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}

func (c *ttlCache[V]) clear() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// keyCacheTTL is how long this node trusts an API key it read. A key
// deleted through this node stops working here at once; on other nodes it
// works until their entry expires, for up to keyCacheTTL.
const keyCacheTTL = 30 * time.Second

// keyCache remembers API keys found by hash, for keyCacheTTL. Misses are not
// cached (a flood of wrong keys must not grow memory). Expiry uses the real
// clock, like ttlCache.
//
// A deletion bumps epoch under the lock, and a key read from the store is
// put only if no deletion happened since the read began (putIfCurrent):
// otherwise a request that read a key just before its deletion could put
// it back after the deletion emptied its entry.
type keyCache struct {
	ttl   time.Duration
	mu    sync.RWMutex
	epoch uint64
	m     map[string]ttlEntry[*store.APIKey] // by string(hash)
}

func newKeyCache(ttl time.Duration) *keyCache {
	return &keyCache{ttl: ttl, m: make(map[string]ttlEntry[*store.APIKey])}
}

func (c *keyCache) get(hash []byte) (*store.APIKey, bool) {
	c.mu.RLock()
	e, ok := c.m[string(hash)]
	c.mu.RUnlock()
	if !ok || time.Now().After(e.exp) {
		return nil, false
	}
	return e.v, true
}

// current returns the epoch to pass to putIfCurrent: read it before
// reading the store.
func (c *keyCache) current() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.epoch
}

// putIfCurrent caches k unless a key was forgotten since epoch.
func (c *keyCache) putIfCurrent(hash []byte, k *store.APIKey, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch {
		return
	}
	if len(c.m) >= maxCacheEntries {
		clear(c.m)
	}
	c.m[string(hash)] = ttlEntry[*store.APIKey]{v: k, exp: time.Now().Add(c.ttl)}
}

// forget drops the keys for which drop is true; call it once they are
// deleted from the store.
func (c *keyCache) forget(drop func(*store.APIKey) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for h, e := range c.m {
		if drop(e.v) {
			delete(c.m, h)
		}
	}
}

// cachedApp resolves {app} (id or uid) through the app cache. Only "not
// found" is not cached, so a new app is seen at once.
func (s *server) cachedApp(ctx context.Context, idOrUID string) (*hook.App, error) {
	if a, ok := s.apps.get(idOrUID); ok {
		return a, nil
	}
	a, err := s.store.GetApp(ctx, idOrUID)
	if err != nil {
		return nil, err
	}
	keys := []string{a.ID}
	if a.UID != "" {
		keys = append(keys, a.UID)
	}
	s.apps.put(a, keys...)
	return a, nil
}
