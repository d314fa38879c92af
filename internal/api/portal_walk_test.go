package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
)

// portalExpect classifies every operation of the OpenAPI document for a
// portal link's token: portalAllowed on its own app's paths, portalDenied
// everywhere (403 "a portal link cannot ..."), or portalOpen (no key
// needed). A route added to the API and not classified here fails
// TestPortalTokenRouteWalk: decide what a portal link may do with it.
var portalExpect = map[string]string{
	// A portal link cannot open a hookd listen stream (it would create
	// an endpoint that receives the app's deliveries).
	"listen": portalDenied,

	"healthz": portalOpen,
	"readyz":  portalOpen,

	"get-app":       portalAllowed,
	"get-app-stats": portalAllowed,
	"update-app":    portalDenied,
	"delete-app":    portalDenied,
	"create-app":    portalDenied,
	"list-apps":     portalDenied,
	"get-stats":     portalDenied,

	"list-endpoints":         portalAllowed,
	"create-endpoint":        portalAllowed,
	"get-endpoint":           portalAllowed,
	"update-endpoint":        portalAllowed,
	"delete-endpoint":        portalAllowed,
	"get-endpoint-headers":   portalAllowed,
	"get-endpoint-secret":    portalAllowed,
	"rotate-endpoint-secret": portalAllowed,
	"send-test-event":        portalAllowed,
	"recover-endpoint":       portalAllowed,
	"replay-missing":         portalAllowed,

	"list-deliveries":  portalAllowed,
	"get-delivery":     portalAllowed,
	"retry-delivery":   portalAllowed,
	"retry-deliveries": portalAllowed,
	"list-attempts":    portalAllowed,

	"list-events":        portalAllowed,
	"get-event":          portalAllowed,
	"resend-event":       portalAllowed,
	"create-event":       portalDenied,
	"create-event-batch": portalDenied,
	"expunge-event":      portalDenied,

	"list-event-types":   portalAllowed,
	"get-event-type":     portalAllowed,
	"create-event-type":  portalDenied,
	"update-event-type":  portalDenied,
	"archive-event-type": portalDenied,
	"import-event-types": portalDenied,

	"create-portal-link":  portalDenied,
	"revoke-portal-links": portalDenied,

	"create-api-key": portalDenied,
	"list-api-keys":  portalDenied,
	"delete-api-key": portalDenied,
}

const (
	portalAllowed = "allowed"
	portalDenied  = "denied"
	portalOpen    = "open"
)

// TestPortalTokenRouteWalk walks every operation of the served OpenAPI
// document with portal link tokens of app A (issue 16): (a) a full token
// on A's paths passes authorization (whatever the answer after it: a 404
// or 422 for the placeholder ids is fine) exactly for the allow-listed
// operations, and is refused 403 for the rest; (b) the same token on B's
// paths is refused 403 for every operation under an app; (c) a read-only
// token of A is refused 403 for every method but GET, and is as (a) for
// GET.
func TestPortalTokenRouteWalk(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mkApp("App A", "app-a")
	e.mkApp("App B", "app-b")
	full := e.mkPortalLink("app-a", nil).Token
	readOnly := e.mkPortalLink("app-a", map[string]any{"read_only": true}).Token

	r := e.call("GET", "/v1/openapi.json", nil, withKey(""))
	doc := want[struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
		} `json:"paths"`
	}](t, r, http.StatusOK)

	type op struct{ id, method, path string }
	var ops []op
	for path, item := range doc.Paths {
		for method, o := range item {
			ops = append(ops, op{o.OperationID, strings.ToUpper(method), path})
		}
	}
	// Deletions last, so that an operation let through by mistake cannot
	// hide the answers of the others.
	sort.Slice(ops, func(i, j int) bool {
		di, dj := ops[i].method == http.MethodDelete, ops[j].method == http.MethodDelete
		if di != dj {
			return dj
		}
		return ops[i].id < ops[j].id
	})
	if len(ops) < 40 {
		t.Fatalf("the document has %d operations; is it the whole API?", len(ops))
	}

	var seen []string
	for _, o := range ops {
		seen = append(seen, o.id)
		class, ok := portalExpect[o.id]
		if !ok {
			t.Errorf("%s %s (%s) is not classified for portal tokens: add it to portalExpect (and to the API's portalOperations if a portal link may call it)",
				o.method, o.path, o.id)
			continue
		}
		if class == portalOpen {
			continue
		}
		appScoped := strings.HasPrefix(o.path, "/v1/apps/{app}")
		var body any
		if o.method == http.MethodPost || o.method == http.MethodPatch {
			body = map[string]any{}
		}
		call := func(token, app string) *result {
			return e.call(o.method, fillPath(o.path, app), body, withKey(token))
		}
		name := o.method + " " + o.path + " (" + o.id + ")"

		// (a) The full token, on its own app's paths.
		got := call(full, "app-a")
		checkPortalAnswer(t, "(a) full token, own app: "+name, got, class, "a portal link cannot")

		// (c) The read-only token.
		ro := call(readOnly, "app-a")
		switch {
		case o.method != http.MethodGet && class == portalAllowed:
			checkPortalAnswer(t, "(c) read-only token: "+name, ro, portalDenied, "this portal link is read-only")
		case o.method != http.MethodGet:
			checkPortalAnswer(t, "(c) read-only token: "+name, ro, portalDenied, "a portal link cannot")
		default:
			checkPortalAnswer(t, "(c) read-only token: "+name, ro, class, "a portal link cannot")
		}

		// (b) The full token on the other app's paths.
		if appScoped {
			detail := "bound to another app"
			if class == portalDenied {
				detail = "a portal link cannot"
			}
			checkPortalAnswer(t, "(b) full token, other app: "+name, call(full, "app-b"), portalDenied, detail)
		}
	}
	for id := range portalExpect {
		if !slices.Contains(seen, id) {
			t.Errorf("portalExpect classifies %s, which the OpenAPI document does not have", id)
		}
	}
}

// checkPortalAnswer checks one answer of the walk: an allowed operation
// passed authorization (neither 401 nor 403) and did not fail (5xx); a
// denied one is a 403 problem whose detail says why.
func checkPortalAnswer(t *testing.T, what string, r *result, class, detail string) {
	t.Helper()
	if class == portalAllowed {
		if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden || r.Status >= 500 {
			t.Errorf("%s: %d %s; want it to pass authorization", what, r.Status, r.Body)
		}
		return
	}
	var p problem
	_ = json.Unmarshal(r.Body, &p)
	if r.Status != http.StatusForbidden || !strings.Contains(p.Detail, detail) {
		t.Errorf("%s: %d %s; want 403 saying %q", what, r.Status, r.Body, detail)
	}
}

// fillPath puts app and placeholder ids into an OpenAPI path template.
func fillPath(tmpl, app string) string {
	return strings.NewReplacer(
		"{app}", app,
		"{ep}", "ep_01jdq2x3v4w5y6z7a8b9c0d1e2",
		"{dlv}", "dlv_01jdq2x3v4w5y6z7a8b9c0d1e2",
		"{id}", "evt_01jdq2x3v4w5y6z7a8b9c0d1e2",
		"{name}", "order.created",
	).Replace(tmpl)
}
