package api_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/catalog"
	"github.com/hookd/hookd/internal/store"
)

func TestCatalogImport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	pack, err := catalog.Pack("opentiendas")
	if err != nil {
		t.Fatal(err)
	}

	first := want[catalog.ImportResult](t, e.call("POST", "/v1/event-types/import", map[string]any{"pack": "opentiendas"}), http.StatusOK)
	if len(first.Created) != len(pack) || len(first.Updated)+len(first.Unchanged) != 0 {
		t.Fatalf("first import %+v: want all %d created", first, len(pack))
	}
	list, err := e.store.ListEventTypes(context.Background(), &store.ListEventTypesParams{})
	if err != nil || len(list.Data) != len(pack) {
		t.Fatalf("catalog after import: %d types, %v", len(list.Data), err)
	}
	for _, et := range list.Data {
		if et.Description == "" || len(et.Schema) == 0 {
			t.Errorf("imported %s without description or schema", et.Name)
		}
	}

	// Twice changes nothing.
	again := want[catalog.ImportResult](t, e.call("POST", "/v1/event-types/import", map[string]any{"pack": "opentiendas"}), http.StatusOK)
	if len(again.Created)+len(again.Updated) != 0 || len(again.Unchanged) != len(pack) {
		t.Fatalf("second import %+v: want all unchanged", again)
	}
	before, _ := e.store.GetEventType(context.Background(), "order.created")

	// A type defined differently is a conflict, and nothing is written.
	want[map[string]any](t, e.call("PATCH", "/v1/event-types/order.paid", map[string]any{"description": "ours"}), http.StatusOK)
	p := wantProblem(t, e.call("POST", "/v1/event-types/import", map[string]any{"pack": "opentiendas"}), http.StatusConflict, "body.pack")
	if !strings.Contains(p.Detail+strings.Join(p.messages(), " "), "order.paid") {
		t.Errorf("conflict does not name order.paid: %+v", p)
	}
	got, _ := e.store.GetEventType(context.Background(), "order.paid")
	if got.Description != "ours" {
		t.Errorf("a refused import changed order.paid: %q", got.Description)
	}
	after, _ := e.store.GetEventType(context.Background(), "order.created")
	if !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Errorf("a refused import touched order.created")
	}

	// replace overwrites it, and only it.
	rep := want[catalog.ImportResult](t, e.call("POST", "/v1/event-types/import", map[string]any{"pack": "opentiendas", "replace": true}), http.StatusOK)
	if !slices.Equal(rep.Updated, []string{"order.paid"}) || len(rep.Created) != 0 {
		t.Fatalf("replace import %+v: want order.paid updated", rep)
	}
	got, _ = e.store.GetEventType(context.Background(), "order.paid")
	if got.Description == "ours" {
		t.Errorf("replace left our description")
	}

	// Bad input.
	wantProblem(t, e.call("POST", "/v1/event-types/import", map[string]any{"pack": "nope"}), http.StatusUnprocessableEntity, "body.pack")
	wantProblem(t, e.call("POST", "/v1/event-types/import", map[string]any{}), http.StatusUnprocessableEntity, "body.pack")
	// Admin only.
	app := want[map[string]any](t, e.call("POST", "/v1/apps", map[string]any{"name": "A"}), http.StatusCreated)
	e.addKey("sk_test_app_key_000000000", app["id"].(string))
	r := e.call("POST", "/v1/event-types/import", map[string]any{"pack": "flo"}, withKey("sk_test_app_key_000000000"))
	if r.Status != http.StatusForbidden {
		t.Errorf("an app key imported a pack: %d %s", r.Status, r.Body)
	}
}

// A scheme that needs whsec_ secrets is refused while an endpoint keeps a
// provider's own secret, which it could not sign with.
func TestSignatureSchemeMustFitTheSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hmacScheme := map[string]any{"scheme": "hmac", "header": "X-Shop-Signature", "encoding": "hex", "payload": "body", "key": "secret"}
	app := want[map[string]any](t, e.call("POST", "/v1/apps", map[string]any{"name": "Shop", "uid": "shop", "signature": hmacScheme}), http.StatusCreated)
	if sig, _ := app["signature"].(map[string]any); sig["scheme"] != "hmac" {
		t.Fatalf("created app signature %v", app["signature"])
	}
	ep := want[map[string]any](t, e.call("POST", "/v1/apps/shop/endpoints", map[string]any{
		"url": "https://example.com/h", "secret": "shop_live_0123456789abcdef",
	}), http.StatusCreated)
	for _, scheme := range []map[string]any{
		{"scheme": "standard-webhooks"},
		{"scheme": "hmac", "header": "X-Shop-Signature", "encoding": "hex", "payload": "body", "key": "whsec"},
	} {
		p := wantProblem(t, e.call("PATCH", "/v1/apps/shop", map[string]any{"signature": scheme}), http.StatusUnprocessableEntity, "body.signature")
		if !strings.Contains(strings.Join(p.messages(), " "), ep["id"].(string)) {
			t.Errorf("refusal does not name the endpoint: %+v", p)
		}
	}
	got := want[map[string]any](t, e.call("GET", "/v1/apps/shop", nil), http.StatusOK)
	if sig, _ := got["signature"].(map[string]any); sig["scheme"] != "hmac" {
		t.Errorf("a refused PATCH changed the scheme: %v", got["signature"])
	}
	// After rotating to a whsec_ secret (and past the grace period) the
	// change goes through; within the grace period the old secret still
	// signs, so it is still refused.
	want[map[string]any](t, e.call("POST", "/v1/apps/shop/endpoints/"+ep["id"].(string)+"/secret/rotate", nil), http.StatusOK)
	wantProblem(t, e.call("PATCH", "/v1/apps/shop", map[string]any{"signature": map[string]any{"scheme": "standard-webhooks"}}), http.StatusUnprocessableEntity, "body.signature")
	e.now = func() time.Time { return time.Now().Add(25 * time.Hour) }
	ok := want[map[string]any](t, e.call("PATCH", "/v1/apps/shop", map[string]any{"signature": map[string]any{"scheme": "standard-webhooks"}}), http.StatusOK)
	if sig, _ := ok["signature"].(map[string]any); sig["scheme"] != "standard-webhooks" {
		t.Errorf("scheme after PATCH: %v", ok["signature"])
	}
}
