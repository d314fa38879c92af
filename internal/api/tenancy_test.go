package api_test

import (
	"bytes"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestAppKeyCannotChangeUID: a key bound to an app cannot give its app
// another uid (nor remove it). Otherwise it could take the uid of the
// operator's app while no app has it, and receive hookd's operational
// events about every app (issue 12, item 2); and the 409 of a uid taken
// would tell it which uids other apps have (item 10a). Every refusal is
// the same answer, whether the uid asked for is taken, free or the
// operator's.
func TestAppKeyCannotChangeUID(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{operatorApp: "opsapp"})
	own := e.mkApp("Own", "own")
	e.mkApp("Other", "other")
	const key = "sk_test_tenant_key"
	e.addKey(key, own.ID)

	var first []byte
	for _, uid := range []string{"other", "opsapp", "OPSAPP", "free-uid", ""} {
		for _, path := range []string{"/v1/apps/own", "/v1/apps/" + own.ID} {
			r := e.call("PATCH", path, map[string]any{"uid": uid, "name": "Renamed"}, withKey(key))
			p := wantProblem(t, r, http.StatusForbidden, "body.uid")
			if !strings.Contains(p.Detail, "admin key") {
				t.Errorf("uid %q: detail %q does not say who may", uid, p.Detail)
			}
			if first == nil {
				first = r.Body
			} else if !bytes.Equal(r.Body, first) {
				t.Errorf("uid %q via %s answers\n%s\nbut another uid answers\n%s", uid, path, r.Body, first)
			}
		}
	}
	// Nothing was changed, not even the name sent along.
	got := want[appJSON](t, e.call("GET", "/v1/apps/own", nil, withKey(key)), http.StatusOK)
	if got.UID != "own" || got.Name != "Own" {
		t.Errorf("after refused PATCHes the app is %+v", got)
	}
	wantProblem(t, e.call("GET", "/v1/apps/opsapp", nil), http.StatusNotFound, "")

	// The app key may still PATCH the rest, and send its uid unchanged.
	got = want[appJSON](t, e.call("PATCH", "/v1/apps/own", map[string]any{"uid": "own", "name": "Own 2"}, withKey(key)), http.StatusOK)
	if got.UID != "own" || got.Name != "Own 2" {
		t.Errorf("PATCH with the same uid: %+v", got)
	}
	// A bad uid is still a 422 about its form, for anyone.
	wantProblem(t, e.call("PATCH", "/v1/apps/own", map[string]any{"uid": "a b"}, withKey(key)), http.StatusUnprocessableEntity, "body.uid")

	// An admin key changes uids, and is told of a uid taken.
	wantProblem(t, e.call("PATCH", "/v1/apps/own", map[string]any{"uid": "other"}), http.StatusConflict, "")
	got = want[appJSON](t, e.call("PATCH", "/v1/apps/own", map[string]any{"uid": "own-2"}), http.StatusOK)
	if got.UID != "own-2" {
		t.Errorf("admin PATCH uid: %+v", got)
	}
}

// TestReadyzReportsMissingOperatorApp: while HOOKD_OPERATOR_APP names no
// app, /readyz stays 200 (hookd serves) but warns; the warning goes once
// the app exists.
func TestReadyzReportsMissingOperatorApp(t *testing.T) {
	t.Parallel()
	type ready struct {
		Status   string   `json:"status"`
		Warnings []string `json:"warnings"`
	}
	tests := []struct {
		name, operatorApp string
		wantWarning       bool
	}{
		{"none configured", "", false},
		{"uid of no app", "opsapp", true},
		{"id of no app", "app_01jdq2x3v4w5y6z7a8b9c0d1e2", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOpts{operatorApp: tc.operatorApp})
			got := want[ready](t, e.call("GET", "/readyz", nil, withKey("")), http.StatusOK)
			warned := slices.ContainsFunc(got.Warnings, func(w string) bool {
				return strings.Contains(w, "HOOKD_OPERATOR_APP") && strings.Contains(w, `"`+tc.operatorApp+`"`)
			})
			if got.Status != "ok" || warned != tc.wantWarning || len(got.Warnings) > 1 {
				t.Fatalf("/readyz = %+v, want status ok and a warning about the operator app: %v", got, tc.wantWarning)
			}
		})
	}

	e := newEnv(t, envOpts{operatorApp: "opsapp"})
	if got := want[ready](t, e.call("GET", "/readyz", nil, withKey("")), http.StatusOK); len(got.Warnings) != 1 {
		t.Fatalf("/readyz = %+v, want one warning", got)
	}
	e.mkApp("Operator", "opsapp")
	if got := want[ready](t, e.call("GET", "/readyz", nil, withKey("")), http.StatusOK); got.Status != "ok" || len(got.Warnings) != 0 {
		t.Fatalf("/readyz once the operator app exists = %+v, want no warning", got)
	}
}
