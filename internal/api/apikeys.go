package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// APIKey is an API key as the API shows it: never its secret.
type APIKey struct {
	ID        string     `json:"id" example:"key_01jdq2x3v4w5y6z7a8b9c0d1e2"`
	Name      string     `json:"name" doc:"What the key is for."`
	AppID     string     `json:"app_id,omitempty" doc:"The app the key is bound to; absent for an admin key."`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"When the key stops working; absent: never."`
}

// CreatedAPIKey is the answer that creates a key: the only one that shows
// the secret.
type CreatedAPIKey struct {
	ID        string     `json:"id" example:"key_01jdq2x3v4w5y6z7a8b9c0d1e2"`
	Name      string     `json:"name"`
	AppID     string     `json:"app_id,omitempty" doc:"The app the key is bound to; absent for an admin key."`
	CreatedAt time.Time  `json:"created_at"`
	ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"When the key stops working; absent: never."`
	Key       string     `json:"key" doc:"The key: send it as Authorization: Bearer <key>. Shown only in this answer; hookd keeps only its SHA-256." example:"hk_Jx3oQ2wWq8zU1b3Yc4nE0fVd7sK9pL2mR6tA5hG1iXo"`
}

type apiKeyCreateRequest struct {
	Name string `json:"name" minLength:"1" maxLength:"255" doc:"What the key is for."`
	App  string `json:"app,omitempty" maxLength:"255" doc:"Bind the key to this app (its id or uid): it then reaches only that app's routes and the event-type reads. Absent: an admin key, which reaches everything."`
	// ExpiresAt is when the key stops working; nil: never.
	ExpiresAt *time.Time `json:"expires_at,omitempty" doc:"When the key stops working (RFC 3339, in the future): from then on it is answered 401 like an unknown key. Absent: the key never expires."`
}

type apiKeyOutput struct {
	Body *CreatedAPIKey
}

// APIKeyParam is the {id} path parameter of /v1/api-keys/{id}.
type APIKeyParam struct {
	ID string `path:"id" doc:"The key's id (key_...)."`
}

func showAPIKey(k *store.APIKey) *APIKey {
	return &APIKey{ID: k.ID, Name: k.Name, AppID: k.AppID, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt}
}

// newAPIKey returns a fresh key: hk_ and the base64url of 32 random bytes
// (the form server.NewAPIKey gives the generated admin key).
func newAPIKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "hk_" + base64.RawURLEncoding.EncodeToString(b)
}

func (s *server) registerAPIKeys() {
	create := s.operation(scopeAdmin, http.MethodPost, "/v1/api-keys", "create-api-key", "API keys", "Create an API key", http.StatusCreated)
	create.Description = "The answer holds the key itself, shown this once: hookd keeps only its SHA-256. " +
		"A key bound to an app reaches only that app's routes and the event-type reads; a key without an app is an admin key. " +
		"A key bound to an app is deleted with the app. " +
		"A key with expires_at stops working then (401, as an unknown key) on every node, cached or not."
	huma.Register(s.api, create, func(ctx context.Context, in *struct{ Body apiKeyCreateRequest }) (*apiKeyOutput, error) {
		b := &in.Body
		if err := check(hook.ValidateName("name", b.Name), "body", "name", b.Name); err != nil {
			return nil, err
		}
		now := s.now().UTC()
		if b.ExpiresAt != nil && !b.ExpiresAt.After(now) {
			return nil, invalid("body.expires_at", "must be in the future (it is now "+now.Format(time.RFC3339)+")", b.ExpiresAt.Format(time.RFC3339Nano))
		}
		appID := ""
		if b.App != "" {
			a, err := s.store.GetApp(ctx, b.App)
			if hook.ErrorCode(err) == hook.ENotFound {
				return nil, invalid("body.app", "no app has this id or uid", b.App)
			}
			if err != nil {
				return nil, s.fail(ctx, err, "body")
			}
			appID = a.ID
		}
		key := newAPIKey()
		sum := sha256.Sum256([]byte(key))
		k, err := s.store.CreateAPIKey(ctx, &store.CreateAPIKeyParams{
			ID: hook.NewID("key"), Name: b.Name, Hash: sum[:], AppID: appID, ExpiresAt: b.ExpiresAt, Now: now,
		})
		if hook.ErrorCode(err) == hook.ENotFound {
			// The app was deleted meanwhile.
			return nil, invalid("body.app", "no app has this id or uid", b.App)
		}
		if err != nil {
			return nil, s.fail(ctx, err, "body")
		}
		return &apiKeyOutput{Body: &CreatedAPIKey{ID: k.ID, Name: k.Name, AppID: k.AppID, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, Key: key}}, nil
	})

	list := s.operation(scopeAdmin, http.MethodGet, "/v1/api-keys", "list-api-keys", "API keys", "List the API keys (without their secrets)", http.StatusOK)
	list.Description = "Admin keys and keys bound to an app, newest first. The tokens of consumer portal links (create-portal-link) are not listed: " +
		"they are not keys an operator manages, and end by expiring or with revoke-portal-links."
	huma.Register(s.api, list,
		func(ctx context.Context, in *struct{ ListQuery }) (*listOutput[*APIKey], error) {
			p, err := s.store.ListAPIKeys(ctx, &store.ListAPIKeysParams{ListParams: in.ListQuery.params()})
			if err != nil {
				return nil, s.fail(ctx, err, "query")
			}
			out := &store.Page[*APIKey]{Data: make([]*APIKey, len(p.Data)), NextCursor: p.NextCursor}
			for i, k := range p.Data {
				out.Data[i] = showAPIKey(k)
			}
			return &listOutput[*APIKey]{Body: newList(out)}, nil
		})

	del := s.operation(scopeAdmin, http.MethodDelete, "/v1/api-keys/{id}", "delete-api-key", "API keys", "Delete an API key", http.StatusNoContent)
	del.Description = "The key stops working at once on the node that deletes it; other nodes may accept it for up to " + keyCacheTTL.String() + " more (they cache keys); a portal link's token stops working at once on every node. " +
		"The last admin key without expires_at cannot be deleted (409). A key given as HOOKD_API_KEY is stored again when hookd next starts with it."
	del.Errors = append(del.Errors, http.StatusConflict)
	huma.Register(s.api, del, func(ctx context.Context, in *APIKeyParam) (*struct{}, error) {
		if err := s.store.DeleteAPIKey(ctx, in.ID); err != nil {
			return nil, s.fail(ctx, err, "path")
		}
		s.keys.forget(func(k *store.APIKey) bool { return k.ID == in.ID })
		return nil, nil
	})
}
