package envelope

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/hookd/hookd/internal/catalog"
	"github.com/hookd/hookd/internal/hook"
)

// TestFloDataKeysMatchPack checks that what the flo profile places of
// data, per event type, is exactly what Flo's pack says the type's data
// has (its schema's properties): the publish check and the catalog agree.
func TestFloDataKeysMatchPack(t *testing.T) {
	types, err := catalog.Pack("flo")
	if err != nil {
		t.Fatal(err)
	}
	for _, et := range types {
		var sch struct {
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(et.Schema, &sch); err != nil {
			t.Fatalf("%s: %v", et.Name, err)
		}
		var want []string
		for k := range sch.Properties {
			want = append(want, k)
		}
		got := FloDataKeys(et.Name)
		slices.Sort(want)
		gotSorted := slices.Sorted(slices.Values(got))
		if !slices.Equal(gotSorted, want) {
			t.Errorf("FloDataKeys(%s) = %v, the pack's schema has %v", et.Name, got, want)
		}
	}
}

// TestFloPlacesEveryKeyItAccepts checks the other way: every key
// CheckForProfile accepts on a flo event is in the body the profile
// renders.
func TestFloPlacesEveryKeyItAccepts(t *testing.T) {
	for _, typ := range []string{"subscription.created", "item.purchased", "invoice.paid", "user.created", "version.bumped", "widget.made"} {
		data := map[string]any{}
		for _, k := range FloDataKeys(typ) {
			data[k] = map[string]any{"mark": k}
		}
		raw, _ := json.Marshal(data)
		if errs := CheckForProfile(hook.ProfileFlo, typ, raw, nil); len(errs) != 0 {
			t.Fatalf("%s: CheckForProfile refused the keys FloDataKeys gives: %v", typ, errs)
		}
		ev := &hook.Event{ID: "evt_1", Type: typ, Data: raw, CreatedAt: testTime}
		body := render(t, NewRenderer(Options{}), Spec{Profile: hook.ProfileFlo}, &Context{Event: ev})
		v := decode(t, body).(map[string]any)
		for _, k := range FloDataKeys(typ) {
			if m, ok := v[k].(map[string]any); !ok || m["mark"] != k {
				t.Errorf("%s: data.%s accepted but the body has %s = %v", typ, k, k, v[k])
			}
		}
	}
}

func TestCheckForProfile(t *testing.T) {
	prev := json.RawMessage(`{"status":"active"}`)
	tests := []struct {
		name, profile, typ string
		data               string
		prev               json.RawMessage
		want               []string // fields refused
	}{
		{"flo subscription: its keys", hook.ProfileFlo, "subscription.created", `{"user":{"id":"u"},"subscription":{},"invoiceDetails":{}}`, nil, nil},
		{"flo subscription: metadata and amount", hook.ProfileFlo, "subscription.created", `{"user":{"id":"u"},"subscription":{},"metadata":{},"amount":3}`, nil, []string{"data.metadata", "data.amount"}},
		{"flo item: subscription is not its", hook.ProfileFlo, "item.purchased", `{"user":{"id":"u"},"item":{},"subscription":{}}`, nil, []string{"data.subscription"}},
		{"flo invoice: root-level subscription and item", hook.ProfileFlo, "invoice.paid", `{"user":{"id":"u"},"invoice":{},"subscription":{},"item":{},"invoiceDetails":{}}`, nil, nil},
		{"flo: a key twice is told once", hook.ProfileFlo, "item.refunded", `{"x":1,"x":2}`, nil, []string{"data.x"}},
		{"flo: a reserved family is not lifted", hook.ProfileFlo, "version.bumped", `{"version":"v2"}`, nil, []string{"data.version"}},
		{"flo: previous_attributes", hook.ProfileFlo, "subscription.updated", `{}`, prev, []string{"previous_attributes"}},
		{"flo: null previous_attributes is absent", hook.ProfileFlo, "subscription.updated", `{}`, json.RawMessage(`null`), nil},
		{"reflow: previous_attributes on updated", hook.ProfileReflow, "order.updated", `{"a":1}`, prev, nil},
		{"reflow: previous_attributes on created", hook.ProfileReflow, "order.created", `{"a":1}`, prev, []string{"previous_attributes"}},
		{"reflow: on a type merely containing updated", hook.ProfileReflow, "products.updated_price", `{}`, prev, []string{"previous_attributes"}},
		{"reflow: any data", hook.ProfileReflow, "order.created", `{"metadata":1}`, nil, nil},
		{"hookd: anything", hook.ProfileHookd, "order.created", `{"metadata":1}`, prev, nil},
		{"no profile: anything", "", "order.created", `{"metadata":1}`, prev, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := CheckForProfile(tt.profile, tt.typ, json.RawMessage(tt.data), tt.prev)
			var got []string
			for _, err := range errs {
				var he *hook.Error
				if !errors.As(err, &he) || he.Code != hook.EInvalid {
					t.Fatalf("error %v is not an EInvalid *hook.Error", err)
				}
				got = append(got, he.Field)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("refused %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidateEventIDForProfile(t *testing.T) {
	for _, tt := range []struct {
		profile, id string
		ok          bool
	}{
		{hook.ProfileOpenTiendas, "550e8400-e29b-41d4-a716-446655440000", true},
		{hook.ProfileOpenTiendas, "b7e6a1c2-3f4d-4e2a-9b1c-8f7e2d1a9c3e", true},
		{hook.ProfileOpenTiendas, newUUIDv4(), true},
		{hook.ProfileOpenTiendas, "550E8400-E29B-41D4-A716-446655440000", false}, // upper case
		{hook.ProfileOpenTiendas, "550e8400-e29b-11d4-a716-446655440000", false}, // version 1
		{hook.ProfileOpenTiendas, "550e8400-e29b-41d4-c716-446655440000", false}, // variant
		{hook.ProfileOpenTiendas, "550e8400e29b41d4a716446655440000", false},     // no dashes
		{hook.ProfileOpenTiendas, "550e8400-e29b-41d4-a716-44665544000g", false},
		{hook.ProfileOpenTiendas, "ord_1234_created", false},
		{hook.ProfileHookd, "ord_1234_created", true},
		{hook.ProfileReflow, "ord_1234_created", true},
	} {
		err := ValidateEventIDForProfile(tt.profile, "id", tt.id)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateEventIDForProfile(%s, %q) = %v, want ok %v", tt.profile, tt.id, err, tt.ok)
		}
		if err != nil && hook.ErrorCode(err) != hook.EInvalid {
			t.Errorf("%q: code %s, want EInvalid", tt.id, hook.ErrorCode(err))
		}
	}
}
