package envelope

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

var testTime = time.Date(2026, 11, 23, 10, 0, 0, 123e6, time.FixedZone("CET", 3600))

func TestResolvePrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		app  *hook.App
		ep   *hook.Endpoint
		want Spec
	}{
		{"nothing", nil, nil, Spec{Profile: hook.ProfileHookd}},
		{"empty app and endpoint", &hook.App{}, &hook.Endpoint{}, Spec{Profile: hook.ProfileHookd}},
		{"app profile", &hook.App{Profile: "reflow"}, &hook.Endpoint{}, Spec{Profile: "reflow"}},
		{"app envelope over app profile", &hook.App{Profile: "reflow", Envelope: ".data"}, nil, Spec{Envelope: ".data"}},
		{"endpoint profile over app envelope", &hook.App{Profile: "reflow", Envelope: ".data"}, &hook.Endpoint{Profile: "flo"}, Spec{Profile: "flo"}},
		{"endpoint envelope over everything", &hook.App{Profile: "reflow", Envelope: ".data"}, &hook.Endpoint{Profile: "flo", Envelope: ".id"}, Spec{Envelope: ".id"}},
		{"endpoint envelope, nil app", nil, &hook.Endpoint{Envelope: ".id"}, Spec{Envelope: ".id"}},
		{"endpoint profile, nil app", nil, &hook.Endpoint{Profile: "flexprice"}, Spec{Profile: "flexprice"}},
		{"app profile, nil endpoint", &hook.App{Profile: "opentiendas"}, nil, Spec{Profile: "opentiendas"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Resolve(tt.app, tt.ep); got != tt.want {
				t.Errorf("Resolve = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestHookdProfileIsDefault(t *testing.T) {
	t.Parallel()
	r := NewRenderer(Options{})
	for _, ev := range []*hook.Event{
		{ID: "evt_1", Type: "order.created", Data: json.RawMessage(`{"a":1}`), CreatedAt: testTime},
		{ID: "evt_2", Type: "order.updated", CreatedAt: testTime, PreviousAttributes: json.RawMessage(`{"a":0}`), Livemode: true},
	} {
		for _, p := range []string{"", hook.ProfileHookd} {
			got := render(t, r, Spec{Profile: p}, &Context{Event: ev, DeliveryID: "dlv_1"})
			if want := Default(ev); !bytes.Equal(got, want) {
				t.Errorf("profile %q: %s, want Default's %s", p, got, want)
			}
		}
	}
}

func TestUnknownProfileIsAnError(t *testing.T) {
	t.Parallel()
	_, err := NewRenderer(Options{}).Render(context.Background(), Spec{Profile: "stripe"}, &Context{Event: &hook.Event{ID: "x", Type: "a.b"}})
	if err == nil || !strings.Contains(err.Error(), "stripe") {
		t.Fatalf("err = %v, want an unknown-profile error", err)
	}
}

// reflowEvent turns a Reflow event object back into the event hookd stores.
func reflowEvent(t *testing.T, sample []byte) *hook.Event {
	t.Helper()
	var s struct {
		ID         string `json:"id"`
		APIVersion string `json:"api-version"`
		Created    int64  `json:"created"`
		Data       struct {
			Object             json.RawMessage `json:"object"`
			PreviousAttributes json.RawMessage `json:"previous_attributes"`
		} `json:"data"`
		Livemode  bool   `json:"livemode"`
		RequestID string `json:"request_id"`
		Type      string `json:"type"`
	}
	if err := json.Unmarshal(sample, &s); err != nil {
		t.Fatal(err)
	}
	return &hook.Event{
		ID: s.ID, AppID: "app_1", Type: s.Type, Data: s.Data.Object,
		PreviousAttributes: s.Data.PreviousAttributes, Livemode: s.Livemode,
		RequestID: s.RequestID, APIVersion: s.APIVersion, CreatedAt: time.Unix(s.Created, 0),
	}
}

func TestReflowSampleRoundTrips(t *testing.T) {
	t.Parallel()
	sample := readTestdata(t, "reflow_user_updated.json")
	ev := reflowEvent(t, sample)
	body := render(t, NewRenderer(Options{}), Spec{Profile: hook.ProfileReflow}, &Context{Event: ev, DeliveryID: "dlv_1"})
	if !bytes.Equal(body, sample) {
		t.Errorf("body differs from the Reflow sample:\n got %s\nwant %s", body, sample)
	}
	checkKeys(t, body, "", "id", "object", "api-version", "created", "data", "livemode", "request_id", "type")
	checkKeys(t, body, "data", "object", "previous_attributes")
	v := decode(t, body)
	checkTypes(t, v, map[string]string{
		"id":                             "string",
		"object":                         "string",
		"api-version":                    "string",
		"created":                        "number",
		"data":                           "object",
		"data.object":                    "object",
		"data.object.id":                 "string",
		"data.object.object":             "string",
		"data.object.created_at":         "number",
		"data.object.email":              "string",
		"data.object.meta":               "object",
		"data.object.meta.address":       "object",
		"data.object.meta.address.city":  "string",
		"data.object.meta.phone":         "string",
		"data.object.name":               "string",
		"data.object.photo":              "string",
		"data.object.provider":           "string",
		"data.previous_attributes":       "object",
		"data.previous_attributes.email": "string",
		"data.previous_attributes.name":  "string",
		"livemode":                       "boolean",
		"request_id":                     "string",
		"type":                           "string",
	})
	checkValue(t, v, "object", "event")
	checkValue(t, v, "created", num("1676487635"))
}

func TestReflowShape(t *testing.T) {
	t.Parallel()
	order := json.RawMessage(`{"id":"ord_1","payment_status":"paid"}`)
	tests := []struct {
		name     string
		ev       hook.Event
		app      *hook.App
		dataKeys []string
		prev     any // data.previous_attributes when dataKeys has it
		apiVer   any
		reqID    any
	}{
		{
			name:     "created has no previous_attributes even if given",
			ev:       hook.Event{Type: "order.created", Data: order, PreviousAttributes: json.RawMessage(`{"x":1}`), RequestID: "req_1", APIVersion: "2023-01-30"},
			dataKeys: []string{"object"}, apiVer: "2023-01-30", reqID: "req_1",
		},
		{
			name:     "updated without previous attributes has {}",
			ev:       hook.Event{Type: "order.updated", Data: order},
			app:      &hook.App{APIVersion: "2024-05-01"},
			dataKeys: []string{"object", "previous_attributes"}, prev: map[string]any{}, apiVer: "2024-05-01", reqID: nil,
		},
		{
			name:     "updated with null previous attributes has {}",
			ev:       hook.Event{Type: "user.updated", Data: order, PreviousAttributes: json.RawMessage(`null`)},
			dataKeys: []string{"object", "previous_attributes"}, prev: map[string]any{}, apiVer: ReflowAPIVersion, reqID: nil,
		},
		{
			name:     "updated with previous attributes",
			ev:       hook.Event{Type: "order.updated", Data: order, PreviousAttributes: json.RawMessage(`{"payment_status":"pending"}`), APIVersion: "2023-01-30"},
			app:      &hook.App{APIVersion: "2024-05-01"},
			dataKeys: []string{"object", "previous_attributes"}, prev: map[string]any{"payment_status": "pending"}, apiVer: "2023-01-30", reqID: nil,
		},
		{
			name:     "a type merely containing updated is not an update",
			ev:       hook.Event{Type: "products.updated_price", Data: order},
			dataKeys: []string{"object"}, apiVer: ReflowAPIVersion, reqID: nil,
		},
		{
			name:     "no data is {}, no api version anywhere is Reflow's",
			ev:       hook.Event{Type: "categories.changed"},
			dataKeys: []string{"object"}, apiVer: ReflowAPIVersion, reqID: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.ev.ID, tt.ev.CreatedAt = "evt_63c741d62a41c4282e58aea7707125e5590fe0a7", testTime
			body := render(t, NewRenderer(Options{}), Spec{Profile: hook.ProfileReflow}, &Context{Event: &tt.ev, App: tt.app})
			checkKeys(t, body, "", "id", "object", "api-version", "created", "data", "livemode", "request_id", "type")
			checkKeys(t, body, "data", tt.dataKeys...)
			v := decode(t, body)
			checkValue(t, v, "id", tt.ev.ID)
			checkValue(t, v, "object", "event")
			checkValue(t, v, "api-version", tt.apiVer)
			checkValue(t, v, "created", num("1795424400"))
			checkValue(t, v, "livemode", false)
			checkValue(t, v, "request_id", tt.reqID)
			checkValue(t, v, "type", tt.ev.Type)
			wantData := decode(t, appendData(nil, tt.ev.Data))
			checkValue(t, v, "data.object", wantData)
			if len(tt.dataKeys) == 2 {
				checkValue(t, v, "data.previous_attributes", tt.prev)
			}
		})
	}
}

func TestOpenTiendasSamplesRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file  string
		idKey string
	}{
		{"opentiendas_order_created.json", "id"},
		{"opentiendas_order_canceled.json", "id"},
		{"opentiendas_review_created.json", "event_id"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			sample := readTestdata(t, tt.file)
			var s map[string]json.RawMessage
			if err := json.Unmarshal(sample, &s); err != nil {
				t.Fatal(err)
			}
			var id, typ, created string
			for k, p := range map[string]*string{tt.idKey: &id, "type": &typ, "created_at": &created} {
				if err := json.Unmarshal(s[k], p); err != nil {
					t.Fatalf("%s: %v", k, err)
				}
			}
			at, err := time.Parse(time.RFC3339, created)
			if err != nil {
				t.Fatal(err)
			}
			// Stored with sub-second precision in another zone: the body
			// still says UTC, whole seconds, as the sample.
			ev := &hook.Event{ID: id, Type: typ, Data: s["data"], CreatedAt: at.Add(456 * time.Millisecond).In(time.FixedZone("x", -5*3600))}
			body := render(t, NewRenderer(Options{}), Spec{Profile: hook.ProfileOpenTiendas}, &Context{Event: ev})
			if !bytes.Equal(body, sample) {
				t.Errorf("body differs from the sample:\n got %s\nwant %s", body, sample)
			}
			checkKeys(t, body, "", tt.idKey, "type", "created_at", "data")
			v := decode(t, body)
			checkTypes(t, v, map[string]string{tt.idKey: "string", "type": "string", "created_at": "string", "data": "object"})
			if strings.HasPrefix(typ, "order.") {
				checkTypes(t, v, map[string]string{
					"data.id": "number", "data.payment_status": "string", "data.total": "object",
					"data.total.gross": "object", "data.total.gross.amount": "string", "data.line_items": "array",
					"data.customer": "object", "data.customer.is_registered": "boolean", "data.customer.phone": "null",
					"data.billing_address": "object", "data.shipping_address.country_code": "string",
				})
			} else {
				checkTypes(t, v, map[string]string{"data.id": "string", "data.rating": "number", "data.content": "string"})
			}
		})
	}
}

func must(v any, ok bool) any {
	if !ok {
		panic("missing")
	}
	return v
}

func TestOpenTiendasIDKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ typ, key string }{
		{"order.created", "id"},
		{"order.paid", "id"},
		{"review.published", "event_id"},
		{"customer.created", "event_id"},
		{"orders.created", "event_id"},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			t.Parallel()
			ev := &hook.Event{ID: "550e8400-e29b-41d4-a716-446655440000", Type: tt.typ, CreatedAt: time.Date(2026, 3, 16, 11, 12, 33, 999e6, time.UTC)}
			body := render(t, NewRenderer(Options{}), Spec{Profile: hook.ProfileOpenTiendas}, &Context{Event: ev})
			checkKeys(t, body, "", tt.key, "type", "created_at", "data")
			v := decode(t, body)
			checkValue(t, v, tt.key, ev.ID)
			checkValue(t, v, "created_at", "2026-03-16T11:12:33Z")
			checkValue(t, v, "data", map[string]any{})
		})
	}
}

func TestFloShape(t *testing.T) {
	t.Parallel()
	user := map[string]any{"id": "usr_8f2c41", "clientUserId": "client-42"}
	tests := []struct {
		name   string
		typ    string
		data   []byte
		keys   []string
		lifted []string // keys whose value is data's
		nulls  []string // keys that are null
	}{
		{
			name: "invoice with details and related objects", typ: "invoice.paid", data: readTestdata(t, "flo_invoice_paid.json"),
			keys:   []string{"eventId", "eventType", "objectType", "version", "createdAt", "user", "invoice", "invoiceDetails", "subscription", "item"},
			lifted: []string{"user", "invoice", "invoiceDetails", "subscription", "item"},
		},
		{
			name: "subscription event lifts no root-level item", typ: "subscription.renewed", data: readTestdata(t, "flo_subscription_renewed.json"),
			keys:   []string{"eventId", "eventType", "objectType", "version", "createdAt", "user", "subscription"},
			lifted: []string{"user", "subscription"},
		},
		{
			name: "item without user", typ: "item.purchased", data: readTestdata(t, "flo_item_purchased.json"),
			keys:   []string{"eventId", "eventType", "objectType", "version", "createdAt", "user", "item", "invoiceDetails"},
			lifted: []string{"item", "invoiceDetails"}, nulls: []string{"user"},
		},
		{
			name: "invoice with nothing related", typ: "invoice.overdue", data: []byte(`{"user":{"id":"usr_8f2c41","clientUserId":"client-42"},"invoice":{"id":"inv_1"}}`),
			keys:   []string{"eventId", "eventType", "objectType", "version", "createdAt", "user", "invoice"},
			lifted: []string{"user", "invoice"},
		},
		{
			name: "no data", typ: "subscription.created",
			keys:  []string{"eventId", "eventType", "objectType", "version", "createdAt", "user", "subscription"},
			nulls: []string{"user", "subscription"},
		},
		{
			name: "data not an object", typ: "item.refunded", data: []byte(`[1,2]`),
			keys:  []string{"eventId", "eventType", "objectType", "version", "createdAt", "user", "item"},
			nulls: []string{"user", "item"},
		},
		{
			name: "data with whitespace", typ: "item.refunded", data: []byte(" {\n \"item\" : { \"id\" : 1 } , \"user\":null }"),
			keys:   []string{"eventId", "eventType", "objectType", "version", "createdAt", "user", "item"},
			lifted: []string{"item"}, nulls: []string{"user"},
		},
		{
			name: "a user family is not written twice", typ: "user.created", data: []byte(`{"user":{"id":"u"}}`),
			keys:   []string{"eventId", "eventType", "objectType", "version", "createdAt", "user"},
			lifted: []string{"user"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := &hook.Event{ID: "evt_1", Type: tt.typ, Data: tt.data, CreatedAt: testTime}
			r := NewRenderer(Options{})
			body := render(t, r, Spec{Profile: hook.ProfileFlo}, &Context{Event: ev, DeliveryID: "dlv_a", EndpointID: "ep_a"})
			checkKeys(t, body, "", tt.keys...)
			v := decode(t, body)
			checkValue(t, v, "eventId", "dlv_a")
			checkValue(t, v, "eventType", tt.typ)
			checkValue(t, v, "objectType", family(tt.typ))
			checkValue(t, v, "version", "v1")
			checkValue(t, v, "createdAt", "2026-11-23T09:00:00.123Z")
			var data any
			if len(tt.data) > 0 {
				data = decode(t, tt.data)
			}
			for _, k := range tt.lifted {
				checkValue(t, v, k, must(field(data, k)))
			}
			for _, k := range tt.nulls {
				checkValue(t, v, k, nil)
			}
			if tt.typ == "invoice.paid" {
				checkValue(t, v, "user", user)
				checkTypes(t, v, map[string]string{"user.id": "string", "user.clientUserId": "string", "invoice.id": "string", "invoiceDetails.gatewayEventType": "string"})
			}
			// Another endpoint's delivery of the same event has its own eventId.
			other := render(t, r, Spec{Profile: hook.ProfileFlo}, &Context{Event: ev, DeliveryID: "dlv_b", EndpointID: "ep_b"})
			checkValue(t, decode(t, other), "eventId", "dlv_b")
		})
	}
}

func TestFloWithoutDeliveryUsesEventID(t *testing.T) {
	t.Parallel()
	ev := &hook.Event{ID: "evt_1", Type: "item.purchased", CreatedAt: testTime}
	body := render(t, NewRenderer(Options{}), Spec{Profile: hook.ProfileFlo}, &Context{Event: ev})
	checkValue(t, decode(t, body), "eventId", "evt_1")
}

func TestFlexpriceShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		typ, family string
		data        []byte
	}{
		{"invoice.payment_status_updated", "invoice", readTestdata(t, "flexprice_invoice_payment_status_updated.json")},
		{"wallet_transaction.payment_failure", "wallet_transaction", []byte(`{"id":"wtx_1","amount":"5.00"}`)},
		{"events.errors", "events", []byte(`{"errors":[{"event_name":"api_call","reason":"missing customer"}]}`)},
		{"customer.created", "customer", nil},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			t.Parallel()
			ev := &hook.Event{ID: "evt_1", Type: tt.typ, Data: tt.data, CreatedAt: testTime}
			body := render(t, NewRenderer(Options{}), Spec{Profile: hook.ProfileFlexprice}, &Context{Event: ev})
			checkKeys(t, body, "", "webhook_type", "object_type", "data")
			checkKeys(t, body, "data", "object")
			v := decode(t, body)
			checkValue(t, v, "webhook_type", tt.typ)
			checkValue(t, v, "object_type", tt.family)
			checkValue(t, v, "data.object", decode(t, appendData(nil, tt.data)))
			checkTypes(t, v, map[string]string{"data": "object", "data.object": "object"})
		})
	}
}

// profileCases are events with awkward contents that every profile must
// still render as valid JSON.
func profileCases() []hook.Event {
	weird := "q\"uo\\te\n\t\x01\x7f <&> Zoë ✓ \u2028 \xff"
	return []hook.Event{
		{ID: "evt_1", Type: "order.updated", Data: json.RawMessage(`{"a":"b"}`)},
		{ID: weird, Type: weird, RequestID: weird, APIVersion: weird, Data: json.RawMessage(`{"user":{"n":"x\"y"},"invoice":[],"invoiceDetails":null}`)},
		{ID: "evt_2", Type: "invoice.paid", Data: json.RawMessage(`"just a string"`)},
		{ID: "evt_3", Type: "invoice.paid", Data: json.RawMessage(`[{"user":1}]`)},
		{ID: "evt_4", Type: "invoice.paid", Data: json.RawMessage(`null`)},
		{ID: "evt_5", Type: "invoice.paid", Data: json.RawMessage(`12345678901234567890`)},
		{ID: "evt_6", Type: "invoice.paid", Data: json.RawMessage(`{"big":12345678901234567890,"f":1.50,"e":-1e-9,"s":"\u0000\ud83d\ude00"}`)},
		{ID: "evt_7", Type: "noDots", Data: json.RawMessage(`{"noDots":{"x":1},"subscription":{},"item":{}}`)},
		{ID: "evt_8", Type: "user.updated", Data: json.RawMessage(`{}`), PreviousAttributes: json.RawMessage(`{"email":"a@b"}`)},
		{ID: "evt_9", Type: "invoice.paid"},
		{ID: "evt_10", Type: "eventId.x", Data: json.RawMessage(`{"eventId":"dup"}`)},
		{ID: "evt_11", Type: "a.b", Data: json.RawMessage(` { "user" : [ 1 , 2 ] } `)},
	}
}

func TestEveryProfileRendersValidJSON(t *testing.T) {
	t.Parallel()
	r := NewRenderer(Options{})
	for _, p := range hook.Profiles {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			for _, ev := range profileCases() {
				ev.CreatedAt = testTime
				body, err := r.Render(context.Background(), Spec{Profile: p}, &Context{Event: &ev, DeliveryID: "dlv\"1"})
				if err != nil {
					t.Fatalf("%q: %v", ev.ID, err)
				}
				if !json.Valid(body) {
					t.Errorf("%q: not valid JSON: %s", ev.ID, body)
				}
				checkNoDuplicateKeys(t, body)
			}
		})
	}
}

// checkNoDuplicateKeys fails when an object at the top level of body has
// a key twice.
func checkNoDuplicateKeys(t *testing.T, body []byte) {
	t.Helper()
	seen := map[string]bool{}
	for _, k := range keys(t, body, "") {
		if seen[k] {
			t.Errorf("key %q twice in %s", k, body)
		}
		seen[k] = true
	}
}

func TestAppendStringIsJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"plain", "\x7f", "a\x7fb", `q"`, "\n", "Zoë", "\xff", "<&>"} {
		b := appendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Errorf("appendString(%q) = %s: %v", s, b, err)
			continue
		}
		if want := strings.ToValidUTF8(s, "\ufffd"); got != want {
			t.Errorf("appendString(%q) decodes to %q", s, got)
		}
	}
}

func FuzzProfilesRenderValidJSON(f *testing.F) {
	for _, ev := range profileCases() {
		f.Add(ev.ID, ev.Type, []byte(ev.Data), []byte(ev.PreviousAttributes))
	}
	r := NewRenderer(Options{})
	f.Fuzz(func(t *testing.T, id, typ string, data, prev []byte) {
		if len(data) > 0 && !json.Valid(data) || len(prev) > 0 && !json.Valid(prev) {
			t.Skip("hookd stores only valid JSON")
		}
		ev := &hook.Event{ID: id, Type: typ, Data: data, PreviousAttributes: prev, RequestID: id, CreatedAt: testTime}
		for _, p := range hook.Profiles {
			body, err := r.Render(context.Background(), Spec{Profile: p}, &Context{Event: ev, DeliveryID: id})
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if !json.Valid(body) {
				t.Fatalf("%s: not valid JSON: %s", p, body)
			}
		}
	})
}

func TestProfileBodyOverMaxBytesIsRefused(t *testing.T) {
	t.Parallel()
	r := NewRenderer(Options{MaxBytes: 128})
	ev := &hook.Event{ID: "evt_1", Type: "a.b", Data: json.RawMessage(`{"pad":"` + strings.Repeat("x", 128) + `"}`)}
	for _, p := range hook.Profiles {
		if _, err := r.Render(context.Background(), Spec{Profile: p}, &Context{Event: ev}); err == nil {
			t.Errorf("%s: a body over MaxBytes was rendered", p)
		}
	}
	small := &hook.Event{ID: "evt_1", Type: "a.b"}
	if _, err := r.Render(context.Background(), Spec{Profile: "hookd"}, &Context{Event: small}); err != nil {
		t.Errorf("a small body was refused: %v", err)
	}
}

func TestRenderWithoutEventIsAnError(t *testing.T) {
	t.Parallel()
	r := NewRenderer(Options{})
	for _, c := range []*Context{nil, {}} {
		for _, s := range []Spec{{Profile: "hookd"}, {Envelope: "."}} {
			if _, err := r.Render(context.Background(), s, c); err == nil {
				t.Errorf("Render(%+v, %v) without an event: no error", s, c)
			}
		}
	}
	if ok, err := r.Match(context.Background(), ".", &Context{}); err == nil || ok {
		t.Errorf("Match without an event = %v, %v", ok, err)
	}
	if _, err := Input(nil); err == nil {
		t.Error("Input(nil): no error")
	}
}
