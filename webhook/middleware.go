package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
)

// DefaultMaxBodyBytes is the largest body [Middleware] reads unless
// [WithMaxBodyBytes] says otherwise: 1 MiB.
const DefaultMaxBodyBytes = 1 << 20

// MiddlewareOption configures [Middleware].
type MiddlewareOption func(*middlewareConfig)

type middlewareConfig struct {
	maxBody int64
}

// WithMaxBodyBytes sets the largest request body the middleware reads. A
// longer body is answered 413 Request Entity Too Large without calling the
// next handler. Zero or negative means [DefaultMaxBodyBytes].
func WithMaxBodyBytes(n int64) MiddlewareOption {
	return func(c *middlewareConfig) { c.maxBody = n }
}

type messageIDKey struct{}

// MessageID returns the webhook-id of the message that [Middleware]
// verified for the request whose context is ctx, and whether there is one.
func MessageID(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(messageIDKey{}).(string)
	return id, ok
}

// Middleware returns net/http middleware that lets through only requests
// that v verifies. It reads the whole body (at most the limit set with
// [WithMaxBodyBytes], 1 MiB by default), checks it with [Verifier.Verify],
// and then calls next with r.Body replaced by the verified bytes, so next
// reads exactly what was checked; [MessageID] gives next the message ID.
//
// A request that fails verification is answered 401 Unauthorized with a
// plain-text line saying which check failed (the error's text, e.g.
// "webhook: no matching signature"); a body over the limit is answered 413
// Request Entity Too Large; a body that cannot be read, 400. In all three
// cases next is not called.
func Middleware(v *Verifier, opts ...MiddlewareOption) func(http.Handler) http.Handler {
	cfg := middlewareConfig{}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.maxBody <= 0 {
		cfg.maxBody = DefaultMaxBodyBytes
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, cfg.maxBody))
			if err != nil {
				var tooLarge *http.MaxBytesError
				if errors.As(err, &tooLarge) {
					http.Error(w, "webhook: body larger than the receiver accepts", http.StatusRequestEntityTooLarge)
					return
				}
				http.Error(w, "webhook: cannot read body", http.StatusBadRequest)
				return
			}
			if err := v.Verify(r.Header, body); err != nil {
				http.Error(w, err.Error(), http.StatusUnauthorized)
				return
			}
			r2 := r.WithContext(context.WithValue(r.Context(), messageIDKey{}, headerValue(r.Header, HeaderID)))
			r2.Body = io.NopCloser(bytes.NewReader(body))
			r2.ContentLength = int64(len(body))
			next.ServeHTTP(w, r2)
		})
	}
}
