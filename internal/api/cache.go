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

// keyCache remembers API keys found by hash. Keys cannot be deleted through
// the store contract, so hits are kept for the life of the process; misses
// are not cached (a flood of wrong keys must not grow memory).
type keyCache struct {
	m sync.Map // string(hash) → *store.APIKey
}

func (c *keyCache) get(hash []byte) (*store.APIKey, bool) {
	v, ok := c.m.Load(string(hash))
	if !ok {
		return nil, false
	}
	return v.(*store.APIKey), true
}

func (c *keyCache) put(hash []byte, k *store.APIKey) { c.m.Store(string(hash), k) }

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
