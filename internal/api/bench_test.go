package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/sqlitestore"
)

// nopPublisher accepts every event without storing it: the benchmark then
// measures the API alone (HTTP, auth, parsing, checks, the answer).
type nopPublisher struct{}

func (nopPublisher) Publish(_ context.Context, _ *hook.App, ev *hook.Event) (*store.InsertEventResult, error) {
	return &store.InsertEventResult{Event: ev, Created: true}, nil
}
func (nopPublisher) PublishBatch(_ context.Context, _ *hook.App, evs []*hook.Event) ([]*store.InsertEventResult, error) {
	out := make([]*store.InsertEventResult, len(evs))
	for i, ev := range evs {
		out[i] = &store.InsertEventResult{Event: ev, Created: true}
	}
	return out, nil
}
func (nopPublisher) EndpointChanged(*hook.Endpoint) {}
func (nopPublisher) AppChanged(*hook.App)           {}
func (nopPublisher) Emit(string, string, any)       {}
func (nopPublisher) EndpointDeleted(string)         {}
func (nopPublisher) Wake()                          {}

func BenchmarkPublish(b *testing.B) {
	for _, withStore := range []bool{false, true} {
		name := "api-only"
		if withStore {
			name = "sqlite"
		}
		b.Run(name, func(b *testing.B) { benchPublish(b, withStore) })
	}
}

func benchPublish(b *testing.B, withStore bool) {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(b.TempDir(), "bench.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	var disp api.Dispatcher = nopPublisher{}
	if withStore {
		disp = &testPublisher{st: st}
	}
	h, err := api.New(api.Config{Store: st, Dispatcher: disp, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	sum := sha256Sum(adminKey)
	if _, err := st.CreateAPIKey(ctx, &store.CreateAPIKeyParams{ID: hook.NewID("key"), Name: "bench", Hash: sum, Now: nowUTC()}); err != nil {
		b.Fatal(err)
	}
	app, err := st.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "bench", Now: nowUTC()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := st.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID, URL: "https://example.com/x", Secret: hook.NewSecret(), Now: nowUTC()}); err != nil {
		b.Fatal(err)
	}
	if _, err := st.CreateEventType(ctx, &store.CreateEventTypeParams{Name: "order.created", Now: nowUTC(),
		Schema: []byte(`{"type":"object","required":["id","total"],"properties":{"id":{"type":"string"},"total":{"type":"number"}}}`)}); err != nil {
		b.Fatal(err)
	}
	url := srv.URL + "/v1/apps/" + app.ID + "/events"
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	var n atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			body := fmt.Sprintf(`{"type":"order.created","data":{"id":"o_%d","total":12.5,"lines":[{"sku":"a","qty":1}]}}`, i)
			req, _ := http.NewRequest("POST", url, bytes.NewReader([]byte(body)))
			req.Header.Set("Authorization", "Bearer "+adminKey)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}
