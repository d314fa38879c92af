package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/dashboard"
	"github.com/hookd/hookd/internal/hook"
)

// overviewPage signs in with key over HTTP and returns the Overview's
// HTML at path ("/" or "/?range=24h").
func overviewPage(t *testing.T, h *hookdT, key, path string) string {
	t.Helper()
	resp := postSignIn(t, h.base, url.Values{"key": {key}})
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == dashboard.CookieName {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatalf("sign in: %d, no session cookie", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", h.base+path, nil)
	req.AddCookie(cookie)
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return string(b)
}

// between returns the part of s from the first start to the next end
// after it; "" when start is missing.
func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i:]
	if j := strings.Index(s, end); j >= 0 {
		return s[:j+len(end)]
	}
	return s
}

// rowOf returns the table row (<tr>…</tr>) that holds s; "" when none.
func rowOf(table, s string) string {
	for _, row := range strings.Split(table, "<tr>") {
		if strings.Contains(row, s) {
			return row
		}
	}
	return ""
}

// TestOverview: a receiver that answers 500 puts its endpoint under
// "Needs attention" with "HTTP 500" and a link to its app; the
// deliveries chart draws the failed attempt (a bar of the failed class,
// counted in its title), the latency chart the success; ?range=24h
// draws the same from 15-minute buckets. A session of a key bound to an
// app sees only its app's endpoints and deliveries.
func TestOverview(t *testing.T) {
	h := startHookd(t)
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(ok.Close)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(bad.Close)

	// Before anything happened: the empty states.
	page := overviewPage(t, h, adminKey, "/")
	for _, want := range []string{"All endpoints are healthy.", `id="deliveries-none"`, `id="latency-none"`} {
		if !strings.Contains(page, want) {
			t.Errorf("empty overview lacks %q", want)
		}
	}

	// Acme: one endpoint answers 200, the other 500. Other: its own
	// failing endpoint and a success, which Acme's key must not see.
	var acme, other hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Acme"}, http.StatusCreated, &acme)
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Other"}, http.StatusCreated, &other)
	h.call(adminKey, "POST", "/v1/apps/"+acme.ID+"/endpoints", map[string]any{"url": ok.URL + "/acme-ok"}, http.StatusCreated, nil)
	h.call(adminKey, "POST", "/v1/apps/"+acme.ID+"/endpoints", map[string]any{"url": bad.URL + "/acme-bad"}, http.StatusCreated, nil)
	h.call(adminKey, "POST", "/v1/apps/"+other.ID+"/endpoints", map[string]any{"url": bad.URL + "/other-bad"}, http.StatusCreated, nil)
	h.call(adminKey, "POST", "/v1/apps/"+other.ID+"/endpoints", map[string]any{"url": ok.URL + "/other-ok"}, http.StatusCreated, nil)
	for _, app := range []string{acme.ID, other.ID} {
		h.call(adminKey, "POST", "/v1/apps/"+app+"/events", map[string]any{"type": "order.created", "data": map[string]any{"id": 1}}, http.StatusAccepted, nil)
		var dl struct{ Data []hook.Delivery }
		h.call(adminKey, "GET", "/v1/apps/"+app+"/deliveries", nil, http.StatusOK, &dl)
		if len(dl.Data) != 2 {
			t.Fatalf("app %s: %d deliveries, want 2", app, len(dl.Data))
		}
		for _, d := range dl.Data {
			var ep hook.Endpoint
			h.call(adminKey, "GET", "/v1/apps/"+app+"/endpoints/"+d.EndpointID, nil, http.StatusOK, &ep)
			want := hook.DeliverySucceeded
			if strings.HasSuffix(ep.URL, "-bad") {
				want = hook.DeliveryFailed
			}
			h.waitDelivery(app, d.ID, want)
		}
	}
	var key struct {
		Key string `json:"key"`
	}
	h.call(adminKey, "POST", "/v1/api-keys", map[string]any{"name": "acme's key", "app": acme.ID}, http.StatusCreated, &key)

	failedBar := regexp.MustCompile(`<rect class="bar-failed" [^>]*height="[1-9]`)
	for _, c := range []struct {
		who, key, path string
		// attention: the URLs under "Needs attention"; hidden: URLs that
		// must not show anywhere.
		attention, hidden []string
		summary           string
	}{
		{"admin", adminKey, "/", []string{bad.URL + "/acme-bad", bad.URL + "/other-bad"}, nil,
			"Deliveries in the last hour, per 1 min: 2 succeeded, 2 failed attempts, 2 exhausted."},
		{"admin, 24 h", adminKey, "/?range=24h", []string{bad.URL + "/acme-bad", bad.URL + "/other-bad"}, nil,
			"Deliveries in the last 24 hours, per 15 min: 2 succeeded, 2 failed attempts, 2 exhausted."},
		{"acme's key", key.Key, "/", []string{bad.URL + "/acme-bad"}, []string{"other-bad", "Other"},
			"Deliveries in the last hour, per 1 min: 1 succeeded, 1 failed attempts, 1 exhausted."},
	} {
		page := overviewPage(t, h, c.key, c.path)
		table := between(page, `<table class="cards-sm" id="troubled">`, "</table>")
		rows := strings.Count(table, "<tr>") - 1 // the head's row
		if rows != len(c.attention) {
			t.Errorf("%s: %d endpoints need attention, want %d:\n%s", c.who, rows, len(c.attention), table)
		}
		for _, u := range c.attention {
			row := rowOf(table, u)
			if !strings.Contains(row, "HTTP 500") || !strings.Contains(row, "failing") {
				t.Errorf("%s: the row of %s is %q, want it failing with HTTP 500", c.who, u, row)
			}
		}
		if row := rowOf(table, bad.URL+"/acme-bad"); !strings.Contains(row, `href="/apps/`+acme.ID+`"`) || !strings.Contains(row, ">Acme<") {
			t.Errorf("%s: acme's row %q does not link to its app by name", c.who, row)
		}
		for _, s := range c.hidden {
			if strings.Contains(page, s) {
				t.Errorf("%s: the page shows %q, of another app", c.who, s)
			}
		}
		svg := between(page, `<svg class="chart chart-wide" id="deliveries-chart-wide"`, "</svg>")
		if !strings.Contains(svg, "<title id=\"deliveries-chart-wide-title\">"+c.summary+"</title>") {
			t.Errorf("%s: the deliveries chart's title is not %q:\n%s", c.who, c.summary, svg)
		}
		if !failedBar.MatchString(svg) {
			t.Errorf("%s: the deliveries chart has no bar of the failed class:\n%s", c.who, svg)
		}
		if lat := between(page, `id="latency-chart-wide"`, "</svg>"); !strings.Contains(lat, `class="line-p50"`) || !strings.Contains(lat, "p50 at most") {
			t.Errorf("%s: the latency chart draws no p50:\n%s", c.who, lat)
		}
		if strings.Contains(page, "All endpoints are healthy.") {
			t.Errorf("%s: the page says all endpoints are healthy", c.who)
		}
	}
}
