package client_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/pgtest"
	"github.com/hookd/hookd/internal/secrets"
	"github.com/hookd/hookd/internal/server"
	"github.com/hookd/hookd/internal/store/pgstore"
)

const adminKey = "sk_test_client_admin_0123456789"

// startHookd runs hookd (server.Run: the API, the dispatcher, the store at
// db) until the test ends, and returns its base URL.
func startHookd(t *testing.T, db string) string {
	t.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DB = db
	cfg.APIKey = adminKey
	cfg.AllowPrivateNetworks = true // the receivers are on loopback
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.Dashboard = false
	cfg.SecretKey = secrets.EncodeKey(secrets.GenerateKey())
	var logs strings.Builder
	var logMu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Options{Config: cfg, Logger: log, Version: "test", Out: io.Discard, Ready: ready})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server.Run: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server.Run: %v", err)
		}
		if t.Failed() {
			logMu.Lock()
			t.Logf("hookd log:\n%s", logs.String())
			logMu.Unlock()
		}
	})
	return "http://" + addr
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestRoundTrip drives a live hookd through the client, on SQLite and on
// PostgreSQL: apps by id and uid, endpoints and their secret, publishing
// (idempotent replays included), the iterators across pages, deliveries
// that reach a receiver, retries and recovery, the catalog, API keys,
// portal links, stats, and errors as *client.Error with their field.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		roundTrip(t, startHookd(t, filepath.Join(t.TempDir(), "hookd.db")))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := pgtest.DSN(t, "the client's PostgreSQL round trip")
		schemaDSN, drop, err := pgstore.FreshSchema(context.Background(), dsn, "hookd_client")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(drop)
		roundTrip(t, startHookd(t, schemaDSN))
	})
}

// receiver is a webhook receiver that answers 200 and counts deliveries.
type receiver struct {
	srv *httptest.Server
	got chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.Copy(io.Discard, req.Body)
		r.got <- struct{}{}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// collect runs an iterator to its end.
func collect[T any](t *testing.T, seq func(func(T, error) bool)) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		if err != nil {
			t.Fatalf("iterating: %v", err)
		}
		out = append(out, v)
	}
	return out
}

// wantError checks that err is a *client.Error of this status, with a
// fault at loc when loc is not "".
func wantError(t *testing.T, err error, status int, loc string) *client.Error {
	t.Helper()
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("err %v (%T), want a *client.Error %d", err, err, status)
	}
	if e.StatusCode != status {
		t.Fatalf("status %d (%v), want %d", e.StatusCode, e, status)
	}
	if loc != "" {
		if _, ok := e.Field(loc); !ok {
			t.Fatalf("%v: no fault at %s", e, loc)
		}
		if !strings.Contains(e.Error(), loc) {
			t.Errorf("Error() = %q does not name %s", e.Error(), loc)
		}
	}
	return e
}

func ptr[T any](v T) *T { return &v }

func roundTrip(t *testing.T, base string) {
	ctx := context.Background()
	c, err := client.New(base, adminKey)
	if err != nil {
		t.Fatal(err)
	}
	if h, err := c.Health(ctx); err != nil || h.Status != "ok" {
		t.Fatalf("health %+v, %v", h, err)
	}

	// Apps, by id and by uid.
	app, err := c.CreateApp(ctx, client.AppCreateRequest{Name: "Acme", UID: ptr("acme")})
	if err != nil {
		t.Fatal(err)
	}
	byUID, err := c.GetApp(ctx, "acme")
	if err != nil || byUID.ID != app.ID {
		t.Fatalf("GetApp(acme) = %+v, %v; want %s", byUID, err, app.ID)
	}
	for _, n := range []string{"B", "C"} {
		if _, err := c.CreateApp(ctx, client.AppCreateRequest{Name: n}); err != nil {
			t.Fatal(err)
		}
	}
	apps := collect(t, c.ListApps(ctx, &client.ListAppsParams{Limit: ptr[int64](1)}))
	if len(apps) != 3 {
		t.Errorf("%d apps over pages of 1, want 3", len(apps))
	}
	renamed, err := c.UpdateApp(ctx, "acme", client.AppPatchRequest{Name: ptr("Acme Inc")})
	if err != nil || renamed.Name != "Acme Inc" {
		t.Fatalf("UpdateApp = %+v, %v", renamed, err)
	}
	_, err = c.GetApp(ctx, "nope")
	wantError(t, err, http.StatusNotFound, "")
	_, err = c.CreateApp(ctx, client.AppCreateRequest{Name: "Dup", UID: ptr("acme")})
	wantError(t, err, http.StatusConflict, "")

	// Endpoints.
	recv := newReceiver(t)
	_, err = c.CreateEndpoint(ctx, "acme", client.EndpointCreateRequest{URL: "ftp://example.com/hook"})
	wantError(t, err, http.StatusUnprocessableEntity, "body.url")
	ep, err := c.CreateEndpoint(ctx, "acme", client.EndpointCreateRequest{
		URL: recv.srv.URL + "/hook", EventTypes: &[]string{"order.created"}, Description: ptr("orders"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := c.GetEndpoint(ctx, app.ID, ep.ID); err != nil || got.URL != ep.URL {
		t.Fatalf("GetEndpoint = %+v, %v", got, err)
	}
	eps := collect(t, c.ListEndpoints(ctx, "acme", nil))
	if len(eps) != 1 || eps[0].ID != ep.ID {
		t.Errorf("endpoints %+v", eps)
	}
	secret, err := c.GetEndpointSecret(ctx, "acme", ep.ID)
	if err != nil || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q, %v", secret, err)
	}
	rotated, err := c.RotateEndpointSecret(ctx, "acme", ep.ID, client.RotateRequest{PreviousExpiresIn: ptr[int64](0)})
	if err != nil || rotated == secret || !strings.HasPrefix(rotated, "whsec_") {
		t.Fatalf("rotated %q (was %q), %v", rotated, secret, err)
	}
	upd, err := c.UpdateEndpoint(ctx, "acme", ep.ID, client.EndpointPatchRequest{Description: ptr("all orders")})
	if err != nil || upd.Description != "all orders" {
		t.Fatalf("UpdateEndpoint = %+v, %v", upd, err)
	}

	// Publishing: an id is an idempotency key.
	first, err := c.PublishEvent(ctx, "acme", client.EventCreateRequest{
		ID: ptr("ord_1_created"), Type: "order.created", Data: map[string]any{"order": 1},
	})
	if err != nil || first.ID != "ord_1_created" || first.Replayed {
		t.Fatalf("publish = %+v, %v", first, err)
	}
	again, err := c.PublishEvent(ctx, "acme", client.EventCreateRequest{
		ID: ptr("ord_1_created"), Type: "order.created", Data: map[string]any{"order": 1},
	})
	if err != nil || again.ID != first.ID || !again.Replayed {
		t.Fatalf("publish again = %+v, %v; want the replay", again, err)
	}
	var published []string
	published = append(published, first.ID)
	for i := range 4 {
		ev, err := c.PublishEvent(ctx, "acme", client.EventCreateRequest{Type: "order.created", Data: map[string]any{"order": i + 2}})
		if err != nil {
			t.Fatal(err)
		}
		published = append(published, ev.ID)
	}
	batch, err := c.PublishEvents(ctx, "acme", []client.EventCreateRequest{
		{Type: "order.created", Data: map[string]any{"order": 6}},
		{Type: "order.shipped", Data: map[string]any{"order": 1}}, // no endpoint subscribes
	})
	if err != nil || len(batch) != 2 {
		t.Fatalf("batch = %+v, %v", batch, err)
	}
	published = append(published, batch[0].Event.ID, batch[1].Event.ID)
	_, err = c.PublishEvents(ctx, "acme", []client.EventCreateRequest{{Type: "ok.type", Data: map[string]any{}}, {Type: "", Data: map[string]any{}}})
	wantError(t, err, http.StatusUnprocessableEntity, "body.events[1].type")

	events := collect(t, c.ListEvents(ctx, "acme", &client.ListEventsParams{Limit: ptr[int64](2)}))
	var ids []string
	for _, ev := range events {
		ids = append(ids, ev.ID)
	}
	slices.Sort(ids)
	slices.Sort(published)
	if !slices.Equal(ids, published) {
		t.Errorf("events over pages of 2: %v\nwant %v", ids, published)
	}
	if ev, err := c.GetEvent(ctx, "acme", "ord_1_created"); err != nil || ev.Type != "order.created" {
		t.Fatalf("GetEvent = %+v, %v", ev, err)
	}

	// An iterator stops when the loop does, and reports an error once.
	n := 0
	for _, err := range c.ListEvents(ctx, "acme", &client.ListEventsParams{Limit: ptr[int64](1)}) {
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 3 {
			break
		}
	}
	var iterErrs int
	for _, err := range c.ListEvents(ctx, "nope", nil) {
		wantError(t, err, http.StatusNotFound, "")
		iterErrs++
	}
	if iterErrs != 1 {
		t.Errorf("%d errors from a failing iterator, want 1", iterErrs)
	}

	// Deliveries: six order.created events to the one endpoint.
	dlvs := collect(t, c.ListDeliveries(ctx, "acme", &client.ListDeliveriesParams{Limit: ptr[int64](2)}))
	if len(dlvs) != 6 {
		t.Fatalf("%d deliveries over pages of 2, want 6", len(dlvs))
	}
	for range 6 {
		select {
		case <-recv.got:
		case <-time.After(30 * time.Second):
			t.Fatal("the receiver did not get the 6 deliveries")
		}
	}
	d := waitDelivered(t, c, dlvs[0].ID, 1)
	if len(d.Attempts) == 0 {
		t.Errorf("delivery %s has no attempts", d.ID)
	}
	retried, err := c.RetryDelivery(ctx, "acme", d.ID)
	if err != nil || retried.ID != d.ID {
		t.Fatalf("RetryDelivery = %+v, %v", retried, err)
	}
	select {
	case <-recv.got:
	case <-time.After(30 * time.Second):
		t.Fatal("the retried delivery did not arrive")
	}
	waitDelivered(t, c, d.ID, 2)
	attempts := collect(t, c.ListAttempts(ctx, "acme", &client.ListAttemptsParams{Limit: ptr[int64](4)}))
	if len(attempts) < 7 {
		t.Errorf("%d attempts, want at least 7", len(attempts))
	}
	if rec, err := c.RecoverEndpoint(ctx, "acme", ep.ID, time.Now().Add(-time.Hour)); err != nil || rec.Recovered != 0 {
		t.Errorf("RecoverEndpoint = %+v, %v; want 0 (none failed)", rec, err)
	}
	if r, err := c.RetryFailedDeliveries(ctx, "acme", client.RetryFailedRequest{}); err != nil || r.Retried != 0 {
		t.Errorf("RetryFailedDeliveries = %+v, %v", r, err)
	}
	if _, err := c.GetAppStats(ctx, "acme", nil); err != nil {
		t.Errorf("GetAppStats: %v", err)
	}
	if _, err := c.GetStats(ctx, &client.GetStatsParams{Bucket: ptr("1h")}); err != nil {
		t.Errorf("GetStats: %v", err)
	}
	_, err = c.GetStats(ctx, &client.GetStatsParams{Bucket: ptr("fortnight")})
	wantError(t, err, http.StatusUnprocessableEntity, "query.bucket")

	// The catalog.
	if _, err := c.CreateEventType(ctx, client.EventTypeCreateRequest{Name: "invoice.paid", Description: ptr("An invoice was paid")}); err != nil {
		t.Fatal(err)
	}
	if et, err := c.UpdateEventType(ctx, "invoice.paid", client.EventTypePatchRequest{Description: ptr("Paid")}); err != nil || et.Description != "Paid" {
		t.Fatalf("UpdateEventType = %+v, %v", et, err)
	}
	if err := c.ArchiveEventType(ctx, "invoice.paid"); err != nil {
		t.Fatal(err)
	}
	if et, err := c.GetEventType(ctx, "invoice.paid"); err != nil || !et.Archived {
		t.Fatalf("GetEventType = %+v, %v; want archived", et, err)
	}
	if types := collect(t, c.ListEventTypes(ctx, &client.ListEventTypesParams{IncludeArchived: ptr(true)})); len(types) != 1 {
		t.Errorf("event types %+v", types)
	}

	// API keys: a key bound to the app reaches the app, not the others.
	key, err := c.CreateAPIKey(ctx, client.APIKeyCreateRequest{Name: "acme's", App: ptr("acme")})
	if err != nil {
		t.Fatal(err)
	}
	ac, err := client.New(base, key.Key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ac.GetApp(ctx, "acme"); err != nil {
		t.Errorf("the app's key: GetApp: %v", err)
	}
	_, err = ac.ListAppsPage(ctx, nil)
	wantError(t, err, http.StatusForbidden, "")
	if keys := collect(t, c.ListAPIKeys(ctx, &client.ListAPIKeysParams{Limit: ptr[int64](1)})); len(keys) != 2 {
		t.Errorf("%d API keys, want 2 (admin, acme's)", len(keys))
	}
	if err := c.DeleteAPIKey(ctx, key.ID); err != nil {
		t.Fatal(err)
	}

	// Portal links.
	link, err := c.CreatePortalLink(ctx, "acme", client.PortalLinkRequest{ReadOnly: ptr(true)})
	if err != nil || link.URL == "" || !link.ReadOnly {
		t.Fatalf("CreatePortalLink = %+v, %v", link, err)
	}
	if r, err := c.RevokePortalLinks(ctx, "acme"); err != nil || r.Revoked != 1 {
		t.Errorf("RevokePortalLinks = %+v, %v", r, err)
	}

	// Deleting.
	if err := c.DeleteEndpoint(ctx, "acme", ep.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteApp(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetApp(ctx, app.ID)
	wantError(t, err, http.StatusNotFound, "")

	// Every operation is also on Raw.
	raw, err := c.Raw().GetAppWithResponse(ctx, "acme")
	if err != nil || raw.StatusCode() != http.StatusNotFound || raw.ApplicationProblemJSON404 == nil {
		t.Fatalf("Raw GetApp: %v, %v", raw, err)
	}
	if e := client.ResponseError(raw.HTTPResponse, raw.Body); e == nil || e.StatusCode != http.StatusNotFound || e.Detail == "" {
		t.Errorf("ResponseError = %+v, want the 404 with its detail", e)
	}
}

// waitDelivered waits until the delivery has succeeded after at least
// attempts attempts (an attempt is recorded just after the receiver
// answers) and returns it.
func waitDelivered(t *testing.T, c *client.Client, id string, attempts int64) *client.DeliveryWithAttempts {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := c.GetDelivery(context.Background(), "acme", id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status == "succeeded" && d.AttemptCount >= attempts {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s is %s after %d attempts, want succeeded after %d", id, d.Status, d.AttemptCount, attempts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
