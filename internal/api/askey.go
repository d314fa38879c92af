package api

import (
	"context"

	"github.com/hookd/hookd/internal/store"
)

// inProcessKeyCtx is the context key under which AsKey leaves the key an
// in-process request is made with.
type inProcessKeyCtx struct{}

// AsKey returns a context for a request that the caller hands to the API's
// handler in-process (ServeHTTP, not the network): the API takes it as
// authenticated by key, as read from the store by the caller, with that
// key's scope, rate limit and expiry applied as for a bearer key. This is
// how the dashboard acts as its session's key. A context value cannot come
// from a network request, so no client can claim a key this way.
func AsKey(ctx context.Context, key *store.APIKey) context.Context {
	return context.WithValue(ctx, inProcessKeyCtx{}, key)
}

// inProcessKey returns the key AsKey put in ctx, if any.
func inProcessKey(ctx context.Context) (*store.APIKey, bool) {
	k, ok := ctx.Value(inProcessKeyCtx{}).(*store.APIKey)
	return k, ok && k != nil
}
