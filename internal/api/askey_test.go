package api_test

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/store"
)

// TestAsKey: a request handed to the API in-process with api.AsKey is
// authenticated as that key, with its scope and expiry; without it, the
// same request has no key (401).
func TestAsKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	own := e.mkApp("Own", "own")
	other := e.mkApp("Other", "other")
	e.addKey("sk_test_bound", own.ID)
	keyOf := func(secret string) *store.APIKey {
		sum := sha256.Sum256([]byte(secret))
		k, err := e.store.GetAPIKeyByHash(context.Background(), sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	serve := func(ctx context.Context, path string) int {
		rec := httptest.NewRecorder()
		e.srv.Config.Handler.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, "GET", path, nil))
		return rec.Code
	}
	admin, bound := keyOf(adminKey), keyOf("sk_test_bound")
	bg := context.Background()
	for _, c := range []struct {
		name string
		ctx  context.Context
		path string
		want int
	}{
		{"no key", bg, "/v1/apps", http.StatusUnauthorized},
		{"admin", api.AsKey(bg, admin), "/v1/apps", http.StatusOK},
		{"admin, another app", api.AsKey(bg, admin), "/v1/apps/" + other.ID, http.StatusOK},
		{"bound, its app", api.AsKey(bg, bound), "/v1/apps/" + own.ID + "/endpoints", http.StatusOK},
		{"bound, another app", api.AsKey(bg, bound), "/v1/apps/" + other.ID + "/endpoints", http.StatusForbidden},
		{"bound, admin route", api.AsKey(bg, bound), "/v1/apps", http.StatusForbidden},
	} {
		if got := serve(c.ctx, c.path); got != c.want {
			t.Errorf("%s: GET %s answered %d, want %d", c.name, c.path, got, c.want)
		}
	}
	past := time.Now().Add(-time.Minute)
	expired := *admin
	expired.ExpiresAt = &past
	if got := serve(api.AsKey(bg, &expired), "/v1/apps"); got != http.StatusUnauthorized {
		t.Errorf("expired key: %d, want 401", got)
	}
}
