package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// mkAppWith creates an app from a JSON body and returns it decoded.
func (e *env) mkAppWith(body string) map[string]any {
	e.t.Helper()
	return want[map[string]any](e.t, e.call("POST", "/v1/apps", body), http.StatusCreated)
}

// publishCase is one publish, single or as a batch item, and what it must
// get: 202, or 422 with exactly these locations (relative to the event:
// "data.metadata" is body.data.metadata on create-event and
// body.events[1].data.metadata in a batch, where the item is second).
type publishCase struct {
	name   string
	app    string // the app's key in the test's apps
	event  string
	header string // Idempotency-Key
	locs   []string
}

// runPublishCases checks each case on create-event and, unless it needs
// the header, as the second item of a batch after a valid first one.
func runPublishCases(t *testing.T, e *env, apps map[string]string, valid map[string]string, cases []publishCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := "/v1/apps/" + apps[c.app] + "/events"
			var opts []reqOpt
			if c.header != "" {
				opts = append(opts, withHeader("Idempotency-Key", c.header))
			}
			r := e.call("POST", path, c.event, opts...)
			checkPublish(t, r, c.locs, "body")
			if c.header != "" {
				return
			}
			r = e.call("POST", path+"/batch", `{"events":[`+valid[c.app]+`,`+c.event+`]}`)
			checkPublish(t, r, c.locs, "body.events[1]")
		})
	}
}

func checkPublish(t *testing.T, r *result, locs []string, prefix string) {
	t.Helper()
	if len(locs) == 0 {
		if r.Status != http.StatusAccepted {
			t.Fatalf("%s: status %d, want 202: %s", prefix, r.Status, r.Body)
		}
		return
	}
	p := wantProblem(t, r, http.StatusUnprocessableEntity, "")
	var want []string
	for _, l := range locs {
		if strings.HasPrefix(l, "header.") {
			want = append(want, l)
		} else {
			want = append(want, prefix+"."+l)
		}
	}
	if got := p.locations(); !slices.Equal(got, want) {
		t.Errorf("%s: locations %q, want %q: %s", prefix, got, want, r.Body)
	}
}

// TestProfileContractsAtPublish: what an app's profile would drop is
// refused at publish, the field named, on create-event and in a batch.
func TestProfileContractsAtPublish(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	apps := map[string]string{}
	for k, body := range map[string]string{
		"flo":         `{"name":"flo","profile":"flo"}`,
		"flo+jq":      `{"name":"flo with an envelope","profile":"flo","envelope":"{t: .type}"}`,
		"reflow":      `{"name":"reflow","profile":"reflow"}`,
		"opentiendas": `{"name":"opentiendas","profile":"opentiendas"}`,
		"hookd":       `{"name":"hookd"}`,
	} {
		apps[k] = e.mkAppWith(body)["id"].(string)
	}
	// An endpoint of the hookd app chooses flo: the app's profile decides.
	e.mkEndpoint(apps["hookd"], map[string]any{"profile": "flo"})
	valid := map[string]string{
		"flo":         `{"type":"subscription.created","data":{"user":{"id":"u1"},"subscription":{"id":"s1"}}}`,
		"flo+jq":      `{"type":"subscription.created","data":{}}`,
		"reflow":      `{"type":"order.created","data":{"id":"o1"}}`,
		"opentiendas": `{"type":"order.created","data":{"id":1}}`,
		"hookd":       `{"type":"order.created","data":{}}`,
	}
	uuid := func(n int) string { return "550e8400-e29b-41d4-a716-44665544000" + string(rune('0'+n)) }
	runPublishCases(t, e, apps, valid, []publishCase{
		// flo: per family, what Flo's contract places of data.
		{"flo subscription with its keys", "flo", `{"type":"subscription.renewed","data":{"user":{"id":"u1"},"subscription":{},"invoiceDetails":{"gatewayEventType":"x"}}}`, "", nil},
		{"flo subscription with metadata", "flo", `{"type":"subscription.created","data":{"user":{"id":"u1"},"subscription":{},"metadata":{"a":"b"}}}`, "", []string{"data.metadata"}},
		{"flo subscription with amount and metadata", "flo", `{"type":"subscription.created","data":{"amount":3,"user":{},"metadata":{}}}`, "", []string{"data.amount", "data.metadata"}},
		{"flo item with a subscription", "flo", `{"type":"item.purchased","data":{"user":{"id":"u1"},"item":{},"subscription":{}}}`, "", []string{"data.subscription"}},
		{"flo invoice with root-level subscription and item", "flo", `{"type":"invoice.paid","data":{"user":{"id":"u1"},"invoice":{},"subscription":{},"item":{},"invoiceDetails":{}}}`, "", nil},
		{"flo invoice with an invoice's own field at the root", "flo", `{"type":"invoice.paid","data":{"user":{"id":"u1"},"invoice":{},"total":10}}`, "", []string{"data.total"}},
		{"flo with previous_attributes", "flo", `{"type":"subscription.updated","data":{"user":{},"subscription":{}},"previous_attributes":{"status":"paused"}}`, "", []string{"previous_attributes"}},
		{"flo with an envelope: the program decides", "flo+jq", `{"type":"subscription.created","data":{"metadata":{}}}`, "", nil},
		{"hookd app, flo endpoint: the app decides", "hookd", `{"type":"subscription.created","data":{"metadata":{}}}`, "", nil},
		// reflow: previous_attributes on *.updated only.
		{"reflow previous_attributes on updated", "reflow", `{"type":"order.updated","data":{"id":"o1"},"previous_attributes":{"payment_status":"pending"}}`, "", nil},
		{"reflow previous_attributes on created", "reflow", `{"type":"order.created","data":{"id":"o1"},"previous_attributes":{"payment_status":"pending"}}`, "", []string{"previous_attributes"}},
		{"reflow null previous_attributes on created", "reflow", `{"type":"order.created","data":{"id":"o1"},"previous_attributes":null}`, "", nil},
		{"hookd previous_attributes on created", "hookd", `{"type":"order.created","data":{},"previous_attributes":{"a":1}}`, "", nil},
		// opentiendas: ids are UUID v4, from the body or the header.
		{"opentiendas UUID v4 id", "opentiendas", `{"type":"order.created","data":{},"id":"` + uuid(1) + `"}`, "", nil},
		{"opentiendas id not a UUID", "opentiendas", `{"type":"order.created","data":{},"id":"ord_1234_created"}`, "", []string{"id"}},
		{"opentiendas UUID v1 id", "opentiendas", `{"type":"order.created","data":{},"id":"550e8400-e29b-11d4-a716-446655440000"}`, "", []string{"id"}},
		{"opentiendas upper-case UUID", "opentiendas", `{"type":"order.created","data":{},"id":"550E8400-E29B-41D4-A716-446655440009"}`, "", []string{"id"}},
		{"opentiendas Idempotency-Key not a UUID", "opentiendas", `{"type":"order.created","data":{}}`, "ord_1234_created", []string{"header.Idempotency-Key"}},
		{"opentiendas Idempotency-Key a UUID v4", "opentiendas", `{"type":"order.created","data":{}}`, uuid(2), nil},
		{"opentiendas same bad id in body and header", "opentiendas", `{"type":"order.created","data":{},"id":"ord_9"}`, "ord_9", []string{"id"}},
		{"hookd id not a UUID", "hookd", `{"type":"order.created","data":{},"id":"ord_1234_created"}`, "", nil},
	})

	// A refused batch stores nothing, not even its valid first item.
	n := e.count("/v1/apps/" + apps["flo"] + "/events")
	r := e.call("POST", "/v1/apps/"+apps["flo"]+"/events/batch",
		`{"events":[`+valid["flo"]+`,{"type":"item.purchased","data":{"metadata":{}}}]}`)
	wantProblem(t, r, http.StatusUnprocessableEntity, "body.events[1].data.metadata")
	if m := e.count("/v1/apps/" + apps["flo"] + "/events"); m != n {
		t.Errorf("a refused batch stored %d events", m-n)
	}
}

// TestReflowAPIVersionDefault: a reflow app always names an api_version,
// Reflow's 2023-01-30 unless given one.
func TestReflowAPIVersionDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	version := func(a map[string]any) any { return a["api_version"] }
	created := e.mkAppWith(`{"name":"r","profile":"reflow"}`)
	if v := version(created); v != "2023-01-30" {
		t.Errorf("reflow app created without api_version: %v, want 2023-01-30", v)
	}
	own := e.mkAppWith(`{"name":"r2","profile":"reflow","api_version":"2024-06-01"}`)
	if v := version(own); v != "2024-06-01" {
		t.Errorf("reflow app created with its own api_version: %v", v)
	}
	plain := e.mkAppWith(`{"name":"h"}`)
	if v := version(plain); v != nil {
		t.Errorf("hookd app got api_version %v", v)
	}
	id := plain["id"].(string)
	patch := func(body string) map[string]any {
		t.Helper()
		return want[map[string]any](t, e.call("PATCH", "/v1/apps/"+id, body), http.StatusOK)
	}
	if v := version(patch(`{"name":"still hookd"}`)); v != nil {
		t.Errorf("hookd app after a PATCH: api_version %v", v)
	}
	if v := version(patch(`{"profile":"reflow"}`)); v != "2023-01-30" {
		t.Errorf("after PATCH profile reflow: api_version %v, want 2023-01-30", v)
	}
	if v := version(patch(`{"api_version":"2025-01-01"}`)); v != "2025-01-01" {
		t.Errorf("after PATCH api_version: %v", v)
	}
	if v := version(patch(`{"api_version":""}`)); v != "2023-01-30" {
		t.Errorf("reflow app after PATCH api_version \"\": %v, want 2023-01-30", v)
	}
	if v := version(patch(`{"profile":"hookd","api_version":""}`)); v != nil {
		t.Errorf("back to hookd without api_version: %v", v)
	}
	// The events of a reflow app carry the app's version.
	r := e.call("POST", "/v1/apps/"+created["id"].(string)+"/events", `{"type":"order.created","data":{}}`)
	if ev := want[map[string]any](t, r, http.StatusAccepted); ev["api_version"] != "2023-01-30" {
		t.Errorf("event of a reflow app: api_version %v", ev["api_version"])
	}
}

// TestStrictCatalog: with a strict catalog (the app's, else the
// deployment's), types the catalog lacks or archived are refused at
// body.type, on create-event and in batches.
func TestStrictCatalog(t *testing.T) {
	t.Parallel()
	for _, deployment := range []string{"", "open", "strict"} {
		t.Run("deployment "+deployment, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{catalog: deployment})
			want[map[string]any](t, e.call("POST", "/v1/event-types", `{"name":"order.created"}`), http.StatusCreated)
			want[map[string]any](t, e.call("POST", "/v1/event-types", `{"name":"order.shipped"}`), http.StatusCreated)
			r := e.call("DELETE", "/v1/event-types/order.shipped", nil)
			if r.Status != http.StatusNoContent {
				t.Fatalf("archive: %d %s", r.Status, r.Body)
			}
			apps := map[string]string{}
			for k, body := range map[string]string{
				"inherit": `{"name":"inherit"}`,
				"open":    `{"name":"open","catalog":"open"}`,
				"strict":  `{"name":"strict","catalog":"strict"}`,
			} {
				a := e.mkAppWith(body)
				if a["catalog"] != k {
					t.Errorf("app %s: catalog %v", k, a["catalog"])
				}
				apps[k] = a["id"].(string)
			}
			valid := map[string]string{}
			for k := range apps {
				valid[k] = `{"type":"order.created","data":{}}`
			}
			strict := func(app string) bool { return app == "strict" || app == "inherit" && deployment == "strict" }
			var cases []publishCase
			for app := range apps {
				var refused []string
				if strict(app) {
					refused = []string{"type"}
				}
				cases = append(cases,
					publishCase{app + ": defined type", app, `{"type":"order.created","data":{}}`, "", nil},
					publishCase{app + ": unknown type", app, `{"type":"order.exploded","data":{}}`, "", refused},
					publishCase{app + ": archived type", app, `{"type":"order.shipped","data":{}}`, "", refused},
				)
			}
			runPublishCases(t, e, apps, valid, cases)

			// A type added (or brought back) through this node counts at
			// once: the type cache is invalidated.
			want[map[string]any](t, e.call("POST", "/v1/event-types", `{"name":"order.exploded"}`), http.StatusCreated)
			want[map[string]any](t, e.call("PATCH", "/v1/event-types/order.shipped", `{"archived":false}`), http.StatusOK)
			for _, typ := range []string{"order.exploded", "order.shipped"} {
				r := e.call("POST", "/v1/apps/"+apps["strict"]+"/events", `{"type":"`+typ+`","data":{}}`)
				if r.Status != http.StatusAccepted {
					t.Errorf("%s once in the catalog: %d %s", typ, r.Status, r.Body)
				}
			}
		})
	}
}

// TestCatalogSettingPatch: an app's catalog setting is PATCHable, inherit
// goes back to the deployment's, and a wrong value names the field.
func TestCatalogSettingPatch(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{catalog: "strict"})
	id := e.mkAppWith(`{"name":"a"}`)["id"].(string)
	publish := func() int {
		return e.call("POST", "/v1/apps/"+id+"/events", `{"type":"nothing.defined","data":{}}`).Status
	}
	if s := publish(); s != http.StatusUnprocessableEntity {
		t.Errorf("inherit under a strict deployment: %d, want 422", s)
	}
	a := want[map[string]any](t, e.call("PATCH", "/v1/apps/"+id, `{"catalog":"open"}`), http.StatusOK)
	if a["catalog"] != "open" {
		t.Errorf("after PATCH open: %v", a["catalog"])
	}
	if s := publish(); s != http.StatusAccepted {
		t.Errorf("open app under a strict deployment: %d, want 202", s)
	}
	a = want[map[string]any](t, e.call("PATCH", "/v1/apps/"+id, `{"catalog":"inherit"}`), http.StatusOK)
	if a["catalog"] != "inherit" {
		t.Errorf("after PATCH inherit: %v", a["catalog"])
	}
	if s := publish(); s != http.StatusUnprocessableEntity {
		t.Errorf("back to inherit: %d, want 422", s)
	}
	wantProblem(t, e.call("PATCH", "/v1/apps/"+id, `{"catalog":"closed"}`), http.StatusUnprocessableEntity, "body.catalog")
	wantProblem(t, e.call("POST", "/v1/apps", `{"name":"b","catalog":"closed"}`), http.StatusUnprocessableEntity, "body.catalog")
}

// TestRotationOverlapSettings: previous_expires_in and the app's
// secret_overlap_seconds take 0 to 604800 seconds; others name the field.
func TestRotationOverlapSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.mkAppWith(`{"name":"a","secret_overlap_seconds":0}`)
	if a["secret_overlap_seconds"] != 0.0 {
		t.Errorf("created with 0: %v", a["secret_overlap_seconds"])
	}
	id := a["id"].(string)
	ep := e.mkEndpoint(id, map[string]any{})["id"].(string)
	rotate := "/v1/apps/" + id + "/endpoints/" + ep + "/secret/rotate"
	for _, v := range []string{"0", "3600", "604800"} {
		r := e.call("POST", rotate, `{"previous_expires_in":`+v+`}`)
		if r.Status != http.StatusOK {
			t.Errorf("previous_expires_in %s: %d %s", v, r.Status, r.Body)
		}
	}
	for _, v := range []string{"-1", "604801", "1.5", `"1h"`} {
		wantProblem(t, e.call("POST", rotate, `{"previous_expires_in":`+v+`}`), http.StatusUnprocessableEntity, "body.previous_expires_in")
		wantProblem(t, e.call("PATCH", "/v1/apps/"+id, `{"secret_overlap_seconds":`+v+`}`), http.StatusUnprocessableEntity, "body.secret_overlap_seconds")
		wantProblem(t, e.call("POST", "/v1/apps", `{"name":"x","secret_overlap_seconds":`+v+`}`), http.StatusUnprocessableEntity, "body.secret_overlap_seconds")
	}
	a = want[map[string]any](t, e.call("PATCH", "/v1/apps/"+id, `{"secret_overlap_seconds":604800}`), http.StatusOK)
	if a["secret_overlap_seconds"] != 604800.0 {
		t.Errorf("after PATCH: %v", a["secret_overlap_seconds"])
	}
}
