package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/config"
)

// TestDeploymentStrictCatalog: HOOKD_CATALOG=strict reaches the API: an
// app that inherits refuses a type the catalog lacks, at body.type, and
// one that says open accepts it.
func TestDeploymentStrictCatalog(t *testing.T) {
	t.Parallel()
	h, _ := startHookdWith(t, func(c *config.Config) { c.Catalog = "strict" })
	inherit := h.createApp(t, `{"name":"inherits"}`)
	open := h.createApp(t, `{"name":"open","catalog":"open"}`)
	status, _, b := h.call(t, "POST", "/v1/apps/"+inherit.ID+"/events", `{"type":"order.created","data":{}}`)
	if status != http.StatusUnprocessableEntity || !strings.Contains(string(b), `"location":"body.type"`) {
		t.Errorf("inheriting app under a strict deployment: %d %s, want 422 at body.type", status, b)
	}
	status, _, b = h.call(t, "POST", "/v1/apps/"+open.ID+"/events", `{"type":"order.created","data":{}}`)
	if status != http.StatusAccepted {
		t.Errorf("open app under a strict deployment: %d %s, want 202", status, b)
	}
}
