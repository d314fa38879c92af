package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/catalog"
	"github.com/hookd/hookd/internal/hook"
)

var eventTypeLink = regexp.MustCompile(`<a href="/event-types/([^"]+)">([^<]+)</a>`)

// eventTypeNames returns the names the catalog table lists, in order.
func eventTypeNames(page string) []string {
	var names []string
	for _, m := range eventTypeLink.FindAllStringSubmatch(between(page, `<table class="cards-sm" id="event-types">`, "</table>"), -1) {
		names = append(names, html.UnescapeString(m[2]))
	}
	return names
}

var pagerLink = regexp.MustCompile(`<p class="pager"><a href="([^"]*)"`)

// nextLink returns the href of the page's "Next page" link, unescaped.
func nextLink(page string) string {
	m := pagerLink.FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// codeOf returns the unescaped text of <code id="id">; "" when missing.
func codeOf(page, id string) string {
	c := between(page, `<code id="`+id+`">`, "</code>")
	if c == "" {
		return ""
	}
	return html.UnescapeString(strings.TrimSuffix(strings.TrimPrefix(c, `<code id="`+id+`">`), "</code>"))
}

// getEventType reads an event type through the API, as the admin key;
// nil when the API answers 404.
func getEventType(t *testing.T, h *hookdT, name string) *hook.EventType {
	t.Helper()
	req, _ := http.NewRequest("GET", h.base+"/v1/event-types/"+name, nil)
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	var et hook.EventType
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&et) != nil {
		t.Fatalf("GET /v1/event-types/%s: %d", name, resp.StatusCode)
	}
	return &et
}

// TestEventTypesList: the catalog lists 50 types a page, in name order,
// with a next page; each row says whether the type has a schema and an
// example. Archived types are left out, and listed (marked) with
// ?archived=1, whose next page keeps it.
func TestEventTypesList(t *testing.T) {
	h := startHookd(t)
	var want []string
	for i := range 55 {
		name := fmt.Sprintf("thing%02d.happened", i)
		body := map[string]any{"name": name, "description": "Thing " + fmt.Sprint(i)}
		if i == 1 {
			body["schema"] = map[string]any{"type": "object"}
		}
		if i == 2 {
			body["example"] = map[string]any{"id": 2}
		}
		h.call(adminKey, "POST", "/v1/event-types", body, http.StatusCreated, nil)
		if i == 3 {
			h.call(adminKey, "DELETE", "/v1/event-types/"+name, nil, http.StatusNoContent, nil)
			continue
		}
		want = append(want, name)
	}
	b := signInHTTP(t, h, adminKey)

	body := b.page("/event-types")
	got := eventTypeNames(body)
	if len(got) != 50 || got[0] != want[0] || got[49] != want[49] {
		t.Fatalf("first page: %d types %v, want the first 50 of %v", len(got), got, want)
	}
	if row := rowOf(body, ">thing01.happened<"); !strings.Contains(between(row, `data-label="Schema"`, "</td>"), "yes") ||
		!strings.Contains(between(row, `data-label="Example"`, "</td>"), "no") {
		t.Errorf("thing01 has a schema and no example; its row:\n%s", row)
	}
	if row := rowOf(body, ">thing02.happened<"); !strings.Contains(between(row, `data-label="Schema"`, "</td>"), "no") ||
		!strings.Contains(between(row, `data-label="Example"`, "</td>"), "yes") {
		t.Errorf("thing02 has an example and no schema; its row:\n%s", row)
	}
	if !strings.Contains(body, `href="/event-types?archived=1"`) {
		t.Error("no link to show the archived types")
	}
	next := nextLink(body)
	if !strings.HasPrefix(next, "?cursor=") {
		t.Fatalf("first page: next link %q", next)
	}
	got = eventTypeNames(b.page("/event-types" + next))
	if strings.Join(got, ",") != strings.Join(want[50:], ",") {
		t.Errorf("second page: %v, want %v", got, want[50:])
	}

	body = b.page("/event-types?archived=1")
	got = eventTypeNames(body)
	if len(got) != 50 || got[3] != "thing03.happened" {
		t.Fatalf("with archived: %v, want thing03.happened fourth", got)
	}
	if row := rowOf(body, ">thing03.happened<"); !strings.Contains(row, `class="archived"`) || !strings.Contains(row, ">archived</span>") {
		t.Errorf("the archived type is not marked:\n%s", row)
	}
	next = nextLink(body)
	if !strings.HasPrefix(next, "?archived=1&cursor=") {
		t.Fatalf("with archived: next link %q does not keep archived=1", next)
	}
	if got := eventTypeNames(b.page("/event-types" + next)); len(got) != 5 {
		t.Errorf("with archived, second page: %v, want 5 types", got)
	}
}

// TestEventTypeDetail: a type's page shows its description, its schema
// and its example indented (in <pre><code>), as typed (not
// HTML-escaped), and whether it is archived; Archive and Unarchive change that through the API.
func TestEventTypeDetail(t *testing.T) {
	h := startHookd(t)
	schema := `{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"total":{"type":"number"}}}`
	example := `{"id":"ord_1","total":12.5,"note":"<b>fragile</b>"}`
	c := sessionCookie(t, h.base, adminKey)
	// Made through the dashboard's form, which sends the JSON as typed
	// (not HTML-escaped: "<" stays "<", not "\u003c").
	if resp, body := page(t, h.base, c, "POST", "/event-types", url.Values{
		"name": {"order.created"}, "description": {"An order was placed."}, "schema": {schema}, "example": {example},
	}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", resp.StatusCode, body)
	}

	_, body := page(t, h.base, c, "GET", "/event-types/order.created", nil)
	for id, raw := range map[string]string{"type-schema": schema, "type-example": example} {
		var want bytes.Buffer
		_ = json.Indent(&want, []byte(raw), "", "  ")
		if got := codeOf(body, id); got != want.String() {
			t.Errorf("%s:\n%s\nwant\n%s", id, got, want.String())
		}
		if !regexp.MustCompile(`<pre class="body"[^>]*><code id="` + id + `">`).MatchString(body) {
			t.Errorf("%s is not in <pre><code>", id)
		}
	}
	if strings.Contains(body, "<b>fragile</b>") {
		t.Error("the example's text is not escaped")
	}
	if got := between(body, `id="type-description">`, "</dd>"); !strings.Contains(got, "An order was placed.") {
		t.Errorf("description: %q", got)
	}
	if got := between(body, `id="type-state">`, "</dd>"); !strings.Contains(got, "active") {
		t.Errorf("state: %q, want active", got)
	}
	// The edit form starts with the type's values.
	if got := html.UnescapeString(between(between(body, `id="edit-form"`, "</form>"), `name="example"`, "</textarea>")); !strings.Contains(got, `"total": 12.5`) {
		t.Errorf("the edit form's example: %q", got)
	}

	resp, _ := page(t, h.base, c, "POST", "/event-types/order.created/archive", url.Values{})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/event-types/order.created?done=archived" {
		t.Fatalf("archive: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if !getEventType(t, h, "order.created").Archived {
		t.Fatal("archive: the API says the type is not archived")
	}
	_, body = page(t, h.base, c, "GET", "/event-types/order.created?done=archived", nil)
	if !strings.Contains(body, `id="archived-badge"`) || !strings.Contains(between(body, `id="type-state">`, "</dd>"), "archived") ||
		!strings.Contains(body, `action="/event-types/order.created/unarchive"`) {
		t.Errorf("an archived type's page does not say so, or offers no Unarchive:\n%s", between(body, "<main", "</dl>"))
	}
	resp, _ = page(t, h.base, c, "POST", "/event-types/order.created/unarchive", url.Values{})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("unarchive: %d", resp.StatusCode)
	}
	if getEventType(t, h, "order.created").Archived {
		t.Error("unarchive: the API says the type is still archived")
	}

	if resp, _ := page(t, h.base, c, "GET", "/event-types/nosuch.type", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a type that does not exist: %d, want 404", resp.StatusCode)
	}
}

// TestEventTypeCreate: the create form makes the type through the API
// and goes to its page. Text that is not JSON is refused at its field
// without asking the API; the API's refusals (an example that fails the
// schema, 422; a name the catalog has, 409; a bad name) are shown next to
// their fields, and the form keeps what was typed.
func TestEventTypeCreate(t *testing.T) {
	h := startHookd(t)
	c := sessionCookie(t, h.base, adminKey)
	schema := `{"type": "object", "required": ["amount"], "properties": {"amount": {"type": "integer"}}}`

	resp, body := page(t, h.base, c, "POST", "/event-types", url.Values{
		"name": {"invoice.paid"}, "description": {"An invoice was paid."}, "schema": {schema}, "example": {`{"amount": 100}`},
	})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/event-types/invoice.paid?done=created" {
		t.Fatalf("create: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	et := getEventType(t, h, "invoice.paid")
	if et == nil || et.Description != "An invoice was paid." || string(et.Example) != `{"amount":100}` || !strings.Contains(string(et.Schema), `"required":["amount"]`) {
		t.Fatalf("created: %+v", et)
	}
	_, body = page(t, h.base, c, "GET", "/event-types/invoice.paid?done=created", nil)
	if !strings.Contains(body, "Event type created.") {
		t.Error("the type's page does not say it was created")
	}

	for _, tc := range []struct {
		name         string
		form         url.Values
		status       int
		field, want  string
		keep         string
		createsNoOne string
	}{
		{"example not JSON", url.Values{"name": {"invoice.voided"}, "schema": {schema}, "example": {"{\n  \"amount\": 1,\n}"}},
			http.StatusUnprocessableEntity, "example", "is not valid JSON: invalid character '}' looking for beginning of object key string at line 3, column 1", `&#34;amount&#34;: 1,`, "invoice.voided"},
		{"schema not JSON", url.Values{"name": {"invoice.voided"}, "schema": {`{"type": "object"`}},
			http.StatusUnprocessableEntity, "schema", "is not valid JSON", "", "invoice.voided"},
		{"example fails the schema", url.Values{"name": {"invoice.voided"}, "schema": {schema}, "example": {`{"amount": "ten"}`}},
			http.StatusUnprocessableEntity, "example", "integer", `&#34;ten&#34;`, "invoice.voided"},
		{"schema not a schema", url.Values{"name": {"invoice.voided"}, "schema": {`{"type": 12}`}},
			http.StatusUnprocessableEntity, "schema", "", "", "invoice.voided"},
		{"name taken", url.Values{"name": {"invoice.paid"}, "description": {"again"}},
			http.StatusConflict, "name", "exists", "again", ""},
		{"name malformed", url.Values{"name": {"invoice"}},
			http.StatusUnprocessableEntity, "name", "resource.action", "", ""},
	} {
		resp, body := page(t, h.base, c, "POST", "/event-types", tc.form)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.status)
			continue
		}
		form := between(body, `id="create-form"`, "</form>")
		if msg := formFieldError(form, tc.field); msg == "" || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: error next to %s: %q, want it to contain %q\n%s", tc.name, tc.field, msg, tc.want, form)
		}
		if !strings.Contains(between(form, `id="`+tc.field+`"`, ">"), `aria-invalid="true"`) {
			t.Errorf("%s: the %s field is not marked invalid", tc.name, tc.field)
		}
		if tc.keep != "" && !strings.Contains(form, tc.keep) {
			t.Errorf("%s: the form lost %q:\n%s", tc.name, tc.keep, form)
		}
		if tc.createsNoOne != "" && getEventType(t, h, tc.createsNoOne) != nil {
			t.Errorf("%s: %s was created", tc.name, tc.createsNoOne)
		}
	}
}

// TestEventTypeEdit: the edit form PATCHes the description, schema and
// example; an example that fails the schema is the API's 422, shown at
// the example, and nothing changes; an emptied schema is removed.
func TestEventTypeEdit(t *testing.T) {
	h := startHookd(t)
	h.call(adminKey, "POST", "/v1/event-types", map[string]any{
		"name": "user.created", "description": "old", "schema": map[string]any{"type": "object"}, "example": map[string]any{"id": "u_1"},
	}, http.StatusCreated, nil)
	c := sessionCookie(t, h.base, adminKey)
	strict := `{"type": "object", "required": ["email"]}`

	resp, body := page(t, h.base, c, "POST", "/event-types/user.created", url.Values{
		"description": {"new"}, "schema": {strict}, "example": {`{"id": "u_1"}`},
	})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("an example that fails the schema: %d, want 422\n%s", resp.StatusCode, body)
	}
	form := between(body, `id="edit-form"`, "</form>")
	if msg := formFieldError(form, "example"); msg != "email: is required" {
		t.Errorf("error at the example: %q, want it to name the missing email\n%s", msg, form)
	}
	if !strings.Contains(form, ">new</textarea>") || !strings.Contains(form, "&#34;required&#34;: [&#34;email&#34;]") {
		t.Errorf("the form lost what was typed:\n%s", form)
	}
	if et := getEventType(t, h, "user.created"); et.Description != "old" {
		t.Errorf("a refused edit changed the type: %+v", et)
	}

	resp, body = page(t, h.base, c, "POST", "/event-types/user.created", url.Values{
		"description": {"A user signed up."}, "schema": {strict}, "example": {`{"id": "u_1", "email": "a@example.com"}`},
	})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/event-types/user.created?done=saved" {
		t.Fatalf("edit: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	et := getEventType(t, h, "user.created")
	if et.Description != "A user signed up." || string(et.Schema) != `{"type":"object","required":["email"]}` || !strings.Contains(string(et.Example), "a@example.com") {
		t.Errorf("edited: %+v", et)
	}

	resp, _ = page(t, h.base, c, "POST", "/event-types/user.created", url.Values{"description": {"A user signed up."}, "schema": {""}, "example": {`{"id": "u_2"}`}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove the schema: %d", resp.StatusCode)
	}
	if et := getEventType(t, h, "user.created"); et.Schema != nil || string(et.Example) != `{"id":"u_2"}` {
		t.Errorf("with the schema emptied: schema %s example %s, want no schema", et.Schema, et.Example)
	}
	_, body = page(t, h.base, c, "GET", "/event-types/user.created", nil)
	if !strings.Contains(body, `id="no-schema"`) {
		t.Error("a type without a schema: its page does not say so")
	}

	resp, body = page(t, h.base, c, "POST", "/event-types/user.created", url.Values{"description": {"x"}, "example": {"[1, 2"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(formFieldError(body, "example"), "is not valid JSON") {
		t.Errorf("an example that is not JSON: %d, error %q", resp.StatusCode, formFieldError(body, "example"))
	}
	if et := getEventType(t, h, "user.created"); et.Description != "A user signed up." {
		t.Errorf("an edit refused by the dashboard reached the API: %+v", et)
	}
}

// TestEventTypesImport: importing a built-in pack creates its types and
// says so (created, updated, unchanged); importing it again changes
// nothing. A pack that defines a type the catalog has differently is the
// API's 409, shown at the pack field, until replace is checked.
func TestEventTypesImport(t *testing.T) {
	h := startHookd(t)
	b := signInHTTP(t, h, adminKey)
	body := b.page("/event-types")
	for _, name := range catalog.Packs() {
		if !strings.Contains(between(body, `<select id="pack"`, "</select>"), `<option value="`+name+`"`) {
			t.Errorf("the import form does not offer the %s pack", name)
		}
	}

	reflow, err := catalog.Pack("reflow")
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := page(t, h.base, b.cookie, "POST", "/event-types/import", url.Values{"pack": {"reflow"}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/event-types?") {
		t.Fatalf("import: %d to %q", resp.StatusCode, loc)
	}
	body = b.page(loc)
	want := fmt.Sprintf("Imported the reflow pack: %d created, 0 updated, 0 unchanged.", len(reflow))
	if got := between(body, `id="import-notice">`, "</p>"); !strings.Contains(got, want) {
		t.Errorf("notice %q, want %q", got, want)
	}
	got := eventTypeNames(body)
	if len(got) != len(reflow) {
		t.Errorf("listed %v, want the %d types of reflow", got, len(reflow))
	}
	for _, et := range reflow {
		row := rowOf(body, ">"+et.Name+"<")
		if row == "" || !strings.Contains(row, html.EscapeString(et.Description)) {
			t.Errorf("%s: no row with its description:\n%s", et.Name, row)
		}
	}

	resp, _ = page(t, h.base, b.cookie, "POST", "/event-types/import", url.Values{"pack": {"reflow"}})
	if got := between(b.page(resp.Header.Get("Location")), `id="import-notice">`, "</p>"); !strings.Contains(got, fmt.Sprintf("0 created, 0 updated, %d unchanged", len(reflow))) {
		t.Errorf("import again: notice %q", got)
	}

	// opentiendas defines order.created too, differently.
	resp, body = page(t, h.base, b.cookie, "POST", "/event-types/import", url.Values{"pack": {"opentiendas"}})
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("import a conflicting pack: %d, want 409", resp.StatusCode)
	}
	form := between(body, `id="import-form"`, "</form>")
	if msg := formFieldError(form, "pack"); !strings.Contains(msg, "order.created") || !strings.Contains(msg, "replace") {
		t.Errorf("error at the pack: %q, want it to name order.created and replace", msg)
	}
	if !strings.Contains(form, `<option value="opentiendas" selected>`) {
		t.Errorf("the form lost the chosen pack:\n%s", form)
	}
	if getEventType(t, h, "order.canceled") != nil {
		t.Error("a refused import created types")
	}
	resp, _ = page(t, h.base, b.cookie, "POST", "/event-types/import", url.Values{"pack": {"opentiendas"}, "replace": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("import with replace: %d", resp.StatusCode)
	}
	if got := between(b.page(resp.Header.Get("Location")), `id="import-notice">`, "</p>"); !strings.Contains(got, "5 created, 1 updated, 0 unchanged") {
		t.Errorf("import with replace: notice %q", got)
	}

	// A link cannot make the page claim an import of a pack there is not.
	if body := b.page("/event-types?imported=evilcorp&created=99"); strings.Contains(body, `id="import-notice"`) {
		t.Errorf("a notice for a pack that does not exist: %s", between(body, `id="import-notice"`, "</p>"))
	}

	resp, body = page(t, h.base, b.cookie, "POST", "/event-types/import", url.Values{"pack": {"nosuchpack"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || formFieldError(body, "pack") == "" {
		t.Errorf("an unknown pack: %d, error %q; want 422 at the pack", resp.StatusCode, formFieldError(body, "pack"))
	}
}

// TestEventTypesAppBoundSession: a session of a key bound to an app
// reads the catalog (list and type pages, and the nav link) but gets no
// forms, and posting them anyway is the API's 403; nothing changes.
func TestEventTypesAppBoundSession(t *testing.T) {
	h := startHookd(t)
	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Shop"}, http.StatusCreated, &app)
	var bound api.CreatedAPIKey
	h.call(adminKey, "POST", "/v1/api-keys", map[string]any{"name": "shop key", "app": app.ID}, http.StatusCreated, &bound)
	h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.created", "description": "An order.", "example": map[string]any{"id": 1}}, http.StatusCreated, nil)
	c := sessionCookie(t, h.base, bound.Key)

	resp, body := page(t, h.base, c, "GET", "/event-types", nil)
	if resp.StatusCode != http.StatusOK || strings.Join(eventTypeNames(body), ",") != "order.created" {
		t.Fatalf("the catalog as an app key: %d %v", resp.StatusCode, eventTypeNames(body))
	}
	if !strings.Contains(body, `href="/event-types" aria-current="page"`) {
		t.Error("an app key's nav has no current Event types link")
	}
	if strings.Contains(body, "<form method=\"post\" action=\"/event-types") {
		t.Errorf("an app key gets a form to change the catalog:\n%s", between(body, "<main", "</main>"))
	}
	resp, body = page(t, h.base, c, "GET", "/event-types/order.created", nil)
	if resp.StatusCode != http.StatusOK || codeOf(body, "type-example") == "" {
		t.Fatalf("a type's page as an app key: %d", resp.StatusCode)
	}
	if strings.Contains(body, "<form method=\"post\" action=\"/event-types") {
		t.Errorf("an app key gets a form to change the type:\n%s", between(body, "<main", "</main>"))
	}

	for _, req := range []struct {
		path string
		form url.Values
	}{
		{"/event-types", url.Values{"name": {"order.sneaky"}}},
		{"/event-types", url.Values{"name": {"order.sneaky"}, "example": {"not json"}}},
		{"/event-types/import", url.Values{"pack": {"reflow"}}},
		{"/event-types/order.created", url.Values{"description": {"changed"}}},
		{"/event-types/order.created", url.Values{"description": {"changed"}, "schema": {"{"}}},
		{"/event-types/order.created/archive", url.Values{}},
		{"/event-types/order.created/unarchive", url.Values{}},
	} {
		resp, body := page(t, h.base, c, "POST", req.path, req.form)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "admin key") {
			t.Errorf("POST %s %v as an app key: %d, want the API's 403\n%s", req.path, req.form, resp.StatusCode, between(body, "<main", "</main>"))
		}
	}
	et := getEventType(t, h, "order.created")
	if et.Description != "An order." || et.Archived {
		t.Errorf("an app key changed the type: %+v", et)
	}
	if getEventType(t, h, "order.sneaky") != nil || getEventType(t, h, "user.created") != nil {
		t.Error("an app key created types")
	}
}

// TestBrowserImportPack: in Chromium, at a phone's width, an admin opens
// Event types from the nav, chooses the reflow pack and imports it; the
// list says what the import did and lists the pack's types, each linking
// to its page, which shows its schema indented. Nothing is wider than the
// screen.
func TestBrowserImportPack(t *testing.T) {
	h := startHookd(t)
	pack, err := catalog.Pack("reflow")
	if err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t, 390, 844)
	signIn(t, ctx, h.base, adminKey)
	responseOf(t, ctx, "open Event types", chromedp.Click(chromedp.CSS(`nav a[href="/event-types"]`)))
	if got := text(t, ctx, "p.empty"); !strings.Contains(got, "No event types") {
		t.Errorf("empty catalog: %q", got)
	}
	status := responseOf(t, ctx, "import reflow",
		chromedp.SetValue(chromedp.ID("pack"), "reflow"),
		chromedp.Click(chromedp.CSS(`#import-form button[type="submit"]`)))
	if status != http.StatusOK {
		t.Fatalf("import: page status %d", status)
	}
	want := fmt.Sprintf("Imported the reflow pack: %d created, 0 updated, 0 unchanged.", len(pack))
	if got := text(t, ctx, "#import-notice"); got != want {
		t.Errorf("notice %q, want %q", got, want)
	}
	names := evaluate[[]string](t, ctx, `[...document.querySelectorAll("#event-types td[data-label=Name] a")].map(a => a.textContent)`)
	if len(names) != len(pack) {
		t.Fatalf("listed %d types %v, want the %d of reflow", len(names), names, len(pack))
	}
	for i, et := range pack {
		if names[i] != et.Name {
			t.Errorf("row %d: %q, want %q", i, names[i], et.Name)
		}
	}
	if w := evaluate[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the list is %d px wide on a 390 px screen", w)
	}
	responseOf(t, ctx, "open a type", chromedp.Click(chromedp.CSS(`a[href="/event-types/`+pack[0].Name+`"]`)))
	if got := text(t, ctx, "#type-description"); got != pack[0].Description {
		t.Errorf("the type's page: description %q, want %q", got, pack[0].Description)
	}
	if got := text(t, ctx, "#type-schema"); !strings.HasPrefix(got, "{\n  ") {
		t.Errorf("the type's schema is not indented: %q", got)
	}
	if w := evaluate[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("the type's page is %d px wide on a 390 px screen", w)
	}
}

// evaluate runs a script in the page and returns its result.
func evaluate[T any](t *testing.T, ctx context.Context, script string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](script))
	if err != nil {
		t.Fatalf("evaluate %s: %v", script, err)
	}
	return v
}
