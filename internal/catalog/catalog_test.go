package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hookd/hookd/internal/hook"
)

// compile compiles a schema the way internal/api's compileSchema does:
// draft 2020-12 by default, formats asserted, no external references.
func compile(t *testing.T, raw json.RawMessage) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	if _, ok := doc.(map[string]any); !ok {
		t.Fatalf("schema is not a JSON object")
	}
	const url = "mem://hookd/schema.json"
	c := jsonschema.NewCompiler()
	c.UseLoader(refuseLoader{})
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(url, doc); err != nil {
		t.Fatalf("AddResource: %v", err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("schema does not compile: %v", err)
	}
	return sch
}

type refuseLoader struct{}

func (refuseLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("external reference %s", u)
}

// validate reports whether raw matches sch.
func validate(t *testing.T, sch *jsonschema.Schema, raw []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("instance is not JSON: %v", err)
	}
	return sch.Validate(v)
}

func mustPack(t *testing.T, name string) []*hook.EventType {
	t.Helper()
	types, err := Pack(name)
	if err != nil {
		t.Fatalf("Pack(%q): %v", name, err)
	}
	return types
}

func find(t *testing.T, types []*hook.EventType, name string) *hook.EventType {
	t.Helper()
	for _, et := range types {
		if et.Name == name {
			return et
		}
	}
	t.Fatalf("no event type %s", name)
	return nil
}

func names(types []*hook.EventType) []string {
	out := make([]string, len(types))
	for i, et := range types {
		out[i] = et.Name
	}
	return out
}

func TestPacks(t *testing.T) {
	t.Parallel()
	want := []string{"flexprice", "flo", "opentiendas", "reflow"}
	if got := Packs(); !slices.Equal(got, want) {
		t.Fatalf("Packs() = %v, want %v", got, want)
	}
}

func TestPackUnknown(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"", "stripe", "Reflow", "reflow.json"} {
		types, err := Pack(name)
		if err == nil || types != nil {
			t.Fatalf("Pack(%q) = %d types, %v; want an error", name, len(types), err)
		}
		if hook.ErrorCode(err) != hook.ENotFound {
			t.Errorf("Pack(%q): code %q, want %q", name, hook.ErrorCode(err), hook.ENotFound)
		}
		for _, p := range Packs() {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("Pack(%q) error %q does not name pack %s", name, err, p)
			}
		}
	}
}

// TestPackWellFormed checks every pack: it parses, its names are valid
// and unique and sorted, every type has a description and a schema, and
// nothing else is set.
func TestPackWellFormed(t *testing.T) {
	t.Parallel()
	for _, pack := range Packs() {
		t.Run(pack, func(t *testing.T) {
			t.Parallel()
			types := mustPack(t, pack)
			if len(types) == 0 {
				t.Fatal("no event types")
			}
			seen := map[string]bool{}
			for _, et := range types {
				if err := hook.ValidateEventTypeName("name", et.Name); err != nil {
					t.Errorf("%s: %v", et.Name, err)
				}
				if seen[et.Name] {
					t.Errorf("%s is listed twice", et.Name)
				}
				seen[et.Name] = true
				if strings.TrimSpace(et.Description) == "" {
					t.Errorf("%s has no description", et.Name)
				}
				if err := hook.ValidateDescription("description", et.Description); err != nil {
					t.Errorf("%s: %v", et.Name, err)
				}
				if !json.Valid(et.Schema) {
					t.Errorf("%s: schema is not JSON", et.Name)
				}
				if et.Example != nil && !json.Valid(et.Example) {
					t.Errorf("%s: example is not JSON", et.Name)
				}
				if et.Archived || !et.CreatedAt.IsZero() || !et.UpdatedAt.IsZero() {
					t.Errorf("%s: archived or times set: %+v", et.Name, et)
				}
			}
			if !slices.IsSorted(names(types)) {
				t.Errorf("not sorted by name: %v", names(types))
			}
		})
	}
}

func TestPackCounts(t *testing.T) {
	t.Parallel()
	want := map[string][]string{
		"reflow": {"categories.changed", "order.created", "order.updated", "products.changed", "user.created", "user.updated"},
		"opentiendas": {"order.canceled", "order.created", "order.fulfilled", "order.paid",
			"review.created", "review.published"},
		"flo": {"invoice.created", "invoice.deleted", "invoice.overdue", "invoice.paid", "invoice.updated",
			"item.purchased", "item.refunded",
			"subscription.cancelled", "subscription.created", "subscription.expired", "subscription.paused",
			"subscription.reactivated", "subscription.renewed", "subscription.resumed", "subscription.updated"},
	}
	for pack, w := range want {
		if got := names(mustPack(t, pack)); !slices.Equal(got, w) {
			t.Errorf("%s: %d types %v, want %d %v", pack, len(got), got, len(w), w)
		}
	}
	// Flexprice: the seed's tables list 31 types in 9 name families.
	families := map[string]int{}
	for _, n := range names(mustPack(t, "flexprice")) {
		fam, _, _ := strings.Cut(n, ".")
		families[fam]++
	}
	wantFam := map[string]int{
		"billable_metric": 3, "customer": 5, "subscription": 4, "invoice": 8, "wallet": 4,
		"wallet_transaction": 2, "credit_note": 3, "fee": 1, "events": 1,
	}
	if !maps.Equal(families, wantFam) {
		t.Errorf("flexprice families %v, want %v", families, wantFam)
	}
	if n := len(mustPack(t, "flexprice")); n != 31 {
		t.Errorf("flexprice has %d types, want 31", n)
	}
}

// TestExamples checks which types have an example, and that every example
// matches its schema.
func TestExamples(t *testing.T) {
	t.Parallel()
	withExample := map[string][]string{
		"reflow":      {"order.created", "order.updated", "user.created", "user.updated"},
		"opentiendas": {"order.canceled", "order.created", "order.fulfilled", "order.paid", "review.created", "review.published"},
		"flo":         {"invoice.paid", "item.purchased", "subscription.created"},
		"flexprice":   {},
	}
	for _, pack := range Packs() {
		t.Run(pack, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, et := range mustPack(t, pack) {
				sch := compile(t, et.Schema)
				if et.Example == nil {
					continue
				}
				got = append(got, et.Name)
				if err := validate(t, sch, et.Example); err != nil {
					t.Errorf("%s: example does not match the schema: %v", et.Name, err)
				}
			}
			if want := withExample[pack]; !slices.Equal(got, want) {
				t.Errorf("examples on %v, want %v", got, want)
			}
		})
	}
}

func TestSchemasDeclareDraft(t *testing.T) {
	t.Parallel()
	for _, pack := range Packs() {
		for _, et := range mustPack(t, pack) {
			var s struct {
				Schema string `json:"$schema"`
				Type   string `json:"type"`
			}
			if err := json.Unmarshal(et.Schema, &s); err != nil {
				t.Fatalf("%s %s: %v", pack, et.Name, err)
			}
			if s.Schema != "https://json-schema.org/draft/2020-12/schema" || s.Type != "object" {
				t.Errorf("%s %s: $schema %q, type %q", pack, et.Name, s.Schema, s.Type)
			}
		}
	}
}

// TestSeedFacts pins facts of the seeds' samples that the schemas must
// follow where the field tables seem to say otherwise.
func TestSeedFacts(t *testing.T) {
	t.Parallel()
	ot := mustPack(t, "opentiendas")
	var order map[string]any
	if err := json.Unmarshal(find(t, ot, "order.canceled").Example, &order); err != nil {
		t.Fatal(err)
	}
	customer, _ := order["customer"].(map[string]any)
	phone, hasPhone := customer["phone"]
	if order["id"] != 2026.0 || order["payment_status"] != "unpaid" || !hasPhone || phone != nil {
		t.Errorf("order.canceled example: %v", order)
	}
	var review map[string]any
	if err := json.Unmarshal(find(t, ot, "review.published").Example, &review); err != nil {
		t.Fatal(err)
	}
	if review["id"] != "78456" || review["status"] != "published" || review["rating"] != 5.0 {
		t.Errorf("review.published example: %v", review)
	}
	var user map[string]any
	if err := json.Unmarshal(find(t, mustPack(t, "reflow"), "user.updated").Example, &user); err != nil {
		t.Fatal(err)
	}
	meta, _ := user["meta"].(map[string]any)
	addr, _ := meta["address"].(map[string]any)
	if user["id"] != "12345678" || user["provider"] != "google" || meta["phone"] != "123456789" || addr["city"] != "Paris" {
		t.Errorf("user.updated example: %v", user)
	}
	for _, et := range mustPack(t, "flexprice") {
		if et.Name == "customer.updated" && et.Description != "Sent when a customer’s information is updated" {
			t.Errorf("customer.updated: description %q is not the seed's", et.Description)
		}
	}
}

// edit is a change to an example: set the value at path (dot-separated;
// numbers index arrays), or delete it when del is true.
type edit struct {
	path string
	val  any
	del  bool
}

// apply returns the example with the edits made.
func apply(t *testing.T, example json.RawMessage, edits ...edit) []byte {
	t.Helper()
	var doc any
	if err := json.Unmarshal(example, &doc); err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		segs := strings.Split(e.path, ".")
		cur := doc
		for _, s := range segs[:len(segs)-1] {
			switch x := cur.(type) {
			case map[string]any:
				cur = x[s]
			case []any:
				i, err := strconv.Atoi(s)
				if err != nil || i >= len(x) {
					t.Fatalf("bad path %s", e.path)
				}
				cur = x[i]
			default:
				t.Fatalf("path %s goes through a %T", e.path, cur)
			}
		}
		last := segs[len(segs)-1]
		switch x := cur.(type) {
		case map[string]any:
			if e.del {
				if _, ok := x[last]; !ok {
					t.Fatalf("path %s: nothing to delete", e.path)
				}
				delete(x, last)
			} else {
				x[last] = e.val
			}
		case []any:
			i, err := strconv.Atoi(last)
			if err != nil || i >= len(x) || e.del {
				t.Fatalf("bad path %s", e.path)
			}
			x[i] = e.val
		default:
			t.Fatalf("path %s ends in a %T", e.path, cur)
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func set(path string, v any) edit { return edit{path: path, val: v} }
func del(path string) edit        { return edit{path: path, del: true} }

// TestPayloads validates edited examples (and hand-made payloads) against
// the packs' schemas: what the seeds allow passes, what they do not is
// rejected.
func TestPayloads(t *testing.T) {
	t.Parallel()
	type tc struct {
		pack, typ string
		from      string // the type whose example is edited; typ when empty
		raw       string // a payload written out, instead of an edited example
		edits     []edit
		ok        bool
	}
	cases := []tc{
		// OpenTiendas orders.
		{pack: "opentiendas", typ: "order.paid", edits: []edit{set("total.tax.amount", 8.39)}},
		{pack: "opentiendas", typ: "order.paid", edits: []edit{set("id", "2026")}},
		{pack: "opentiendas", typ: "order.paid", edits: []edit{set("fulfillment_status", "shipped")}},
		{pack: "opentiendas", typ: "order.paid", edits: []edit{set("delivery_method", "courier")}},
		{pack: "opentiendas", typ: "order.paid", edits: []edit{set("paid_at", "yesterday")}},
		{pack: "opentiendas", typ: "order.paid", edits: []edit{set("created_at", nil)}},
		{pack: "opentiendas", typ: "order.paid", edits: []edit{del("customer")}},
		{pack: "opentiendas", typ: "order.paid", edits: []edit{del("shipping.net.currency")}},
		{pack: "opentiendas", typ: "order.paid", edits: []edit{set("line_items.0.quantity", "1")}},
		{pack: "opentiendas", typ: "order.paid", edits: []edit{set("line_items.0.unit_price.final_price.net.amount", 33.02)}},
		{pack: "opentiendas", typ: "order.paid", edits: []edit{set("line_items.0.discounts_applied", []any{map[string]any{"type": "coupon", "amount": "5.00", "description": "SPRING"}})}},
		{pack: "opentiendas", typ: "order.paid", edits: []edit{set("customer.is_b2b", "no")}},
		{pack: "opentiendas", typ: "order.paid", edits: []edit{set("billing_address.postal_code", 10001)}},
		// Fields the reference does not list are allowed: providers add fields over time.
		{pack: "opentiendas", typ: "order.paid", ok: true, edits: []edit{set("surprise", true)}},
		{pack: "opentiendas", typ: "order.paid", ok: true, edits: []edit{set("payment_status", "pending"), set("warehouse_release_status", "pending"), set("paid_at", nil)}},
		{pack: "opentiendas", typ: "order.paid", ok: true, edits: []edit{set("delivery_method", "store_pick_up"), set("fulfillment_status", "partially_fulfilled")}},
		{pack: "opentiendas", typ: "order.paid", ok: true, edits: []edit{set("line_items.0.discounts_applied", []any{map[string]any{"type": "coupon", "amount": map[string]any{"amount": "5.00", "currency": "EUR"}, "description": "SPRING"}})}},
		{pack: "opentiendas", typ: "order.paid", ok: true, edits: []edit{set("line_items.0.additional_services", []any{map[string]any{"name": "gift wrap"}})}},
		// OpenTiendas reviews.
		{pack: "opentiendas", typ: "review.created", edits: []edit{set("rating", 6)}},
		{pack: "opentiendas", typ: "review.created", edits: []edit{set("rating", 0)}},
		{pack: "opentiendas", typ: "review.created", edits: []edit{set("rating", 4.5)}},
		{pack: "opentiendas", typ: "review.created", edits: []edit{set("id", 78456)}},
		{pack: "opentiendas", typ: "review.created", edits: []edit{set("status", "hidden")}},
		{pack: "opentiendas", typ: "review.created", edits: []edit{set("type", "seller")}},
		{pack: "opentiendas", typ: "review.created", edits: []edit{del("reviewer_email")}},
		{pack: "opentiendas", typ: "review.created", ok: true, edits: []edit{set("rating", 1)}},
		{pack: "opentiendas", typ: "review.created", ok: true, edits: []edit{set("type", "store"), del("product_id"), del("product_name"), set("variant_id", nil), set("variant_name", nil)}},
		// Flo.
		{pack: "flo", typ: "subscription.created", edits: []edit{del("user")}},
		{pack: "flo", typ: "subscription.renewed", from: "subscription.created", edits: []edit{del("user")}},
		{pack: "flo", typ: "subscription.created", edits: []edit{del("user.id")}},
		{pack: "flo", typ: "subscription.created", edits: []edit{set("user.clientUserId", 1042)}},
		{pack: "flo", typ: "subscription.created", edits: []edit{del("subscription")}},
		{pack: "flo", typ: "subscription.created", edits: []edit{set("subscription", "sub_1")}},
		{pack: "flo", typ: "item.refunded", from: "item.purchased", edits: []edit{del("item")}},
		{pack: "flo", typ: "invoice.overdue", from: "invoice.paid", edits: []edit{del("invoice")}},
		{pack: "flo", typ: "invoice.paid", edits: []edit{set("invoiceDetails", "paid")}},
		{pack: "flo", typ: "item.purchased", raw: `{"user":{"id":"u1"},"subscription":{}}`},
		{pack: "flo", typ: "invoice.paid", ok: true, edits: []edit{set("item", map[string]any{"id": "itm_1"}), del("invoiceDetails")}},
		{pack: "flo", typ: "subscription.paused", ok: true, raw: `{"user":{"id":"u1","clientUserId":"c1"},"subscription":{"id":"s1"}}`},
		// Reflow.
		{pack: "reflow", typ: "user.updated", edits: []edit{set("object", "order")}},
		{pack: "reflow", typ: "user.updated", edits: []edit{del("id")}},
		{pack: "reflow", typ: "user.updated", edits: []edit{set("id", 12345678)}},
		{pack: "reflow", typ: "user.updated", edits: []edit{set("created_at", "2023-02-15")}},
		{pack: "reflow", typ: "order.updated", edits: []edit{set("payment_status", "refunded")}},
		{pack: "reflow", typ: "order.updated", edits: []edit{del("payment_status")}},
		{pack: "reflow", typ: "order.created", edits: []edit{set("object", "user")}},
		{pack: "reflow", typ: "user.created", ok: true, edits: []edit{set("loyalty_points", 12), set("photo", nil), set("meta", nil)}},
		{pack: "reflow", typ: "order.updated", ok: true, edits: []edit{set("payment_status", "failed"), set("items", []any{})}},
		{pack: "reflow", typ: "products.changed", raw: `[]`},
		{pack: "reflow", typ: "products.changed", ok: true, raw: `{"id":"prod_1"}`},
		// Flexprice.
		{pack: "flexprice", typ: "events.errors", raw: `"oops"`},
		{pack: "flexprice", typ: "invoice.voided", ok: true, raw: `{"invoice_id":"inv_1"}`},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("%d_%s_%s", i, c.pack, c.typ), func(t *testing.T) {
			t.Parallel()
			types := mustPack(t, c.pack)
			sch := compile(t, find(t, types, c.typ).Schema)
			payload := []byte(c.raw)
			if c.raw == "" {
				from := c.from
				if from == "" {
					from = c.typ
				}
				ex := find(t, types, from).Example
				if ex == nil {
					t.Fatalf("%s has no example", from)
				}
				payload = apply(t, ex, c.edits...)
			}
			err := validate(t, sch, payload)
			if c.ok && err != nil {
				t.Errorf("rejected %s: %v", payload, err)
			}
			if !c.ok && err == nil {
				t.Errorf("accepted %s", payload)
			}
			var ve *jsonschema.ValidationError
			if err != nil && !errors.As(err, &ve) {
				t.Errorf("not a validation error: %v", err)
			}
		})
	}
}

func TestPackReturnsCopies(t *testing.T) {
	t.Parallel()
	a := mustPack(t, "opentiendas")
	orig := bytes.Clone(a[0].Schema)
	a[0].Schema[0] = 'X'
	a[0].Description = "changed"
	a[1] = nil
	b := mustPack(t, "opentiendas")
	if !bytes.Equal(b[0].Schema, orig) || b[0].Description == "changed" || b[1] == nil {
		t.Fatal("changing Pack's result changed the pack")
	}
}

// catalogOf returns the types as a catalog holds them: by name, copied,
// with their JSON written differently (indented, keys re-ordered) but the
// same.
func catalogOf(t *testing.T, types []*hook.EventType) map[string]*hook.EventType {
	t.Helper()
	rewrite := func(raw json.RawMessage) json.RawMessage {
		if raw == nil {
			return nil
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Fatal(err)
		}
		b, err := json.MarshalIndent(v, "", "    ") // sorts keys
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	m := make(map[string]*hook.EventType, len(types))
	for _, et := range types {
		c := *et
		c.Schema, c.Example = rewrite(et.Schema), rewrite(et.Example)
		m[et.Name] = &c
	}
	return m
}

func TestPlanEmpty(t *testing.T) {
	t.Parallel()
	pack := mustPack(t, "flo")
	for _, existing := range []map[string]*hook.EventType{nil, {}, {"other.thing": {Name: "other.thing"}}} {
		p := Plan(existing, pack)
		if len(p.Create) != len(pack) || len(p.Update) != 0 || len(p.Same) != 0 || len(p.Conflicts) != 0 {
			t.Fatalf("plan on %v: %d create, %d update, %v same, %v conflicts", existing, len(p.Create), len(p.Update), p.Same, p.Conflicts)
		}
		if !slices.Equal(names(p.Create), names(pack)) {
			t.Errorf("create %v, want %v", names(p.Create), names(pack))
		}
	}
	// The lists are empty, not nil, so that a JSON answer has [] in them.
	b, err := json.Marshal(Plan(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"create":[],"update":[],"same":[],"conflicts":[]}` {
		t.Errorf("empty plan is %s", b)
	}
}

func TestPlanIdentical(t *testing.T) {
	t.Parallel()
	for _, pack := range Packs() {
		types := mustPack(t, pack)
		existing := catalogOf(t, types)
		p := Plan(existing, types)
		if len(p.Create) != 0 || len(p.Update) != 0 || len(p.Conflicts) != 0 {
			t.Errorf("%s: %v create, %v update, %v conflicts; want all same", pack, names(p.Create), names(p.Update), p.Conflicts)
		}
		if !slices.Equal(p.Same, names(types)) {
			t.Errorf("%s: same %v, want %v", pack, p.Same, names(types))
		}
	}
}

func TestPlanChanges(t *testing.T) {
	t.Parallel()
	types := mustPack(t, "opentiendas")
	cases := []struct {
		name   string
		change func(t *testing.T, et *hook.EventType)
		target string
	}{
		{"description", func(_ *testing.T, et *hook.EventType) { et.Description += " (edited)" }, "order.paid"},
		{"archived", func(_ *testing.T, et *hook.EventType) { et.Archived = true }, "review.created"},
		{"schema", func(_ *testing.T, et *hook.EventType) { et.Schema = json.RawMessage(`{"type":"object"}`) }, "order.created"},
		{"no schema", func(_ *testing.T, et *hook.EventType) { et.Schema = nil }, "order.fulfilled"},
		{"no example", func(_ *testing.T, et *hook.EventType) { et.Example = json.RawMessage(`null`) }, "review.published"},
		{"example value", func(t *testing.T, et *hook.EventType) { et.Example = apply(t, et.Example, set("rating", 4)) }, "review.published"},
		{"example number spelling only", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			existing := catalogOf(t, types)
			if c.change == nil {
				// Not a change: 5 and 5.0 are the same number.
				et := existing["review.published"]
				et.Example = apply(t, et.Example, set("rating", 5.5))
				et.Example = bytes.Replace(et.Example, []byte(`"rating":5.5`), []byte(`"rating":5.0`), 1)
				if !bytes.Contains(et.Example, []byte(`"rating":5.0`)) {
					t.Fatal("could not respell the rating")
				}
				if p := Plan(existing, types); len(p.Conflicts) != 0 || len(p.Same) != len(types) {
					t.Fatalf("conflicts %v, same %v", p.Conflicts, p.Same)
				}
				return
			}
			before := *existing[c.target]
			c.change(t, existing[c.target])
			if sameDefinition(&before, existing[c.target]) && !existing[c.target].Archived {
				t.Fatal("the change changed nothing")
			}
			p := Plan(existing, types)
			if !slices.Equal(p.Conflicts, []string{c.target}) || !slices.Equal(names(p.Update), []string{c.target}) {
				t.Fatalf("conflicts %v, update %v; want [%s]", p.Conflicts, names(p.Update), c.target)
			}
			if p.Update[0] != find(t, types, c.target) {
				t.Error("Update does not hold the pack's definition")
			}
			if len(p.Create) != 0 || len(p.Same) != len(types)-1 || slices.Contains(p.Same, c.target) {
				t.Errorf("create %v, same %v", names(p.Create), p.Same)
			}
		})
	}
}

func TestPlanMixed(t *testing.T) {
	t.Parallel()
	types := mustPack(t, "reflow")
	existing := catalogOf(t, types[:3]) // categories.changed, order.created, order.updated
	existing["order.updated"].Archived = true
	existing["unrelated.type"] = &hook.EventType{Name: "unrelated.type"}
	p := Plan(existing, types)
	if got, want := names(p.Create), []string{"products.changed", "user.created", "user.updated"}; !slices.Equal(got, want) {
		t.Errorf("create %v, want %v", got, want)
	}
	if got, want := p.Same, []string{"categories.changed", "order.created"}; !slices.Equal(got, want) {
		t.Errorf("same %v, want %v", got, want)
	}
	if !slices.Equal(p.Conflicts, []string{"order.updated"}) || !slices.Equal(names(p.Update), p.Conflicts) {
		t.Errorf("conflicts %v, update %v", p.Conflicts, names(p.Update))
	}
}

func TestJSONEqual(t *testing.T) {
	t.Parallel()
	cases := []struct {
		a, b string
		eq   bool
	}{
		{``, ``, true},
		{``, `null`, true},
		{` null `, ``, true},
		{`null`, `{}`, false},
		{``, `{}`, false},
		{`{"a":1,"b":[true,"x"]}`, "{ \"b\" : [ true , \"x\" ] ,\n \"a\" : 1 }", true},
		{`{"a":1}`, `{"a":1.0}`, true},
		{`{"a":1}`, `{"a":1e0}`, true},
		{`{"a":100}`, `{"a":1E2}`, true},
		{`{"a":0.5}`, `{"a":5e-1}`, true},
		{`{"a":0}`, `{"a":-0.0}`, true},
		{`{"a":1}`, `{"a":-1}`, false},
		{`{"a":1}`, `{"a":"1"}`, false},
		{`{"a":12345678901234567890}`, `{"a":12345678901234567891}`, false},
		{`{"a":1e999999999}`, `{"a":1e999999999}`, true},
		{`{"a":1e999999999}`, `{"a":10e999999998}`, true},
		{`{"a":1e999999999}`, `{"a":2e999999999}`, false},
		{`{"a":1}`, `{"a":1,"b":null}`, false},
		{`[1,2]`, `[2,1]`, false},
		{`{"a":null}`, `{"a":false}`, false},
		{`"x"`, `"x"`, true},
		{`{"a":`, `{"a":`, true}, // not JSON: byte for byte
		{`{"a":1} {}`, `{"a":1}`, false},
	}
	for _, c := range cases {
		if got := jsonEqual(json.RawMessage(c.a), json.RawMessage(c.b)); got != c.eq {
			t.Errorf("jsonEqual(%s, %s) = %v, want %v", c.a, c.b, got, c.eq)
		}
		if got := jsonEqual(json.RawMessage(c.b), json.RawMessage(c.a)); got != c.eq {
			t.Errorf("jsonEqual(%s, %s) = %v, want %v", c.b, c.a, got, c.eq)
		}
	}
}

func TestParsePackRejects(t *testing.T) {
	t.Parallel()
	good := `{"name":"p","schemas":{"o":{"type":"object"}},"event_types":[{"name":"a.b","description":"d","schema":"o"}]}`
	if _, err := parsePack("p", []byte(good)); err != nil {
		t.Fatalf("good pack: %v", err)
	}
	bad := map[string]string{
		"wrong name":     `{"name":"q","schemas":{"o":{}},"event_types":[{"name":"a.b","description":"d","schema":"o"}]}`,
		"no types":       `{"name":"p","schemas":{"o":{}},"event_types":[]}`,
		"bad type name":  `{"name":"p","schemas":{"o":{}},"event_types":[{"name":"ab","description":"d","schema":"o"}]}`,
		"twice":          `{"name":"p","schemas":{"o":{}},"event_types":[{"name":"a.b","description":"d","schema":"o"},{"name":"a.b","description":"d","schema":"o"}]}`,
		"no description": `{"name":"p","schemas":{"o":{}},"event_types":[{"name":"a.b","description":" ","schema":"o"}]}`,
		"unknown schema": `{"name":"p","schemas":{"o":{}},"event_types":[{"name":"a.b","description":"d","schema":"x"}]}`,
		"schema not obj": `{"name":"p","schemas":{"o":true},"event_types":[{"name":"a.b","description":"d","schema":"o"}]}`,
		"unknown field":  `{"name":"p","schemas":{"o":{}},"event_types":[{"name":"a.b","description":"d","schema":"o","sample":{}}]}`,
		"trailing":       good + `{}`,
	}
	for what, raw := range bad {
		if _, err := parsePack("p", []byte(raw)); err == nil {
			t.Errorf("%s: accepted", what)
		}
	}
}
