package server_test

// Endpoint custom headers end to end: hookd seals their values in the
// database, masks them in answers, reveals them on their own route, and
// sends the real values with every delivery, before and after a restart
// and after an endpoint is read and sent back.

import (
	"database/sql"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

func TestEndpointHeadersSealedAndSent(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)

	const credential = "Bearer hdr-s3cr3t-0123456789"
	type received struct{ id, auth, tenant string }
	got := make(chan received, 16)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- received{r.Header.Get("webhook-id"), r.Header.Get("Authorization"), r.Header.Get("X-Tenant")}
	}))
	t.Cleanup(recv.Close)
	wait := func(t *testing.T, eventID string) received {
		t.Helper()
		deadline := time.After(waitLimit)
		for {
			select {
			case r := <-got:
				if r.id == eventID {
					return r
				}
			case <-deadline:
				t.Fatalf("no delivery of %s", eventID)
			}
		}
	}
	publish := func(t *testing.T, h *hookd, id string) {
		t.Helper()
		h.must(t, "POST", "/v1/apps/hdr/events", map[string]any{"id": id, "type": "order.created", "data": map[string]any{}}, http.StatusAccepted, nil)
	}

	h, _, stop := runHookd(t, cfg)
	h.must(t, "POST", "/v1/apps", map[string]any{"name": "Headers", "uid": "hdr"}, http.StatusCreated, nil)
	var ep struct {
		ID      string
		Headers map[string]string
	}
	h.must(t, "POST", "/v1/apps/hdr/endpoints", map[string]any{"url": recv.URL + "/in",
		"headers": map[string]string{"Authorization": credential, "X-Tenant": "t-1"}}, http.StatusCreated, &ep)
	if ep.Headers["Authorization"] != hook.HeaderValueMask || ep.Headers["X-Tenant"] != hook.HeaderValueMask {
		t.Fatalf("create answer headers %v: want every value masked", ep.Headers)
	}
	publish(t, h, "evt_hdr_1")
	if r := wait(t, "evt_hdr_1"); r.auth != credential || r.tenant != "t-1" {
		t.Fatalf("delivery carried Authorization %q X-Tenant %q, want the real values", r.auth, r.tenant)
	}

	// Read and sent back as a client would: deliveries keep the values.
	var read map[string]any
	h.must(t, "GET", "/v1/apps/hdr/endpoints/"+ep.ID, nil, http.StatusOK, &read)
	h.must(t, "PATCH", "/v1/apps/hdr/endpoints/"+ep.ID, map[string]any{"description": "sent back", "headers": read["headers"]}, http.StatusOK, nil)
	publish(t, h, "evt_hdr_2")
	if r := wait(t, "evt_hdr_2"); r.auth != credential {
		t.Fatalf("delivery after sending the endpoint back carried Authorization %q, want the real value", r.auth)
	}
	var revealed struct{ Headers map[string]string }
	h.must(t, "GET", "/v1/apps/hdr/endpoints/"+ep.ID+"/headers", nil, http.StatusOK, &revealed)
	if revealed.Headers["Authorization"] != credential || revealed.Headers["X-Tenant"] != "t-1" {
		t.Fatalf("GET .../headers: %v", revealed.Headers)
	}
	stop()

	db, err := sql.Open("sqlite", "file:"+cfg.DB+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var raw string
	err = db.QueryRow(`SELECT headers FROM endpoints WHERE id = ?`, ep.ID).Scan(&raw)
	_ = db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, "hdr-s3cr3t") || strings.Contains(raw, "t-1") || !strings.Contains(raw, `"Authorization":"enc:v1:`) {
		t.Fatalf("the database holds headers %s: want every value sealed", raw)
	}

	// After a restart the sealed values still open and are sent.
	h, _, stop = runHookd(t, cfg)
	publish(t, h, "evt_hdr_3")
	if r := wait(t, "evt_hdr_3"); r.auth != credential || r.tenant != "t-1" {
		t.Fatalf("delivery after a restart carried Authorization %q X-Tenant %q", r.auth, r.tenant)
	}
	stop()
}
