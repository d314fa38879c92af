package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

const (
	testSchema  = `{"type":"object","properties":{"n":{"type":"integer"}}}`
	testExample = `{"n":42}`
)

func testEventTypes(t *testing.T, open Opener) {
	t.Run("CreateGet", func(t *testing.T) {
		h := setup(t, open)
		et, err := h.s.CreateEventType(h.ctx, &store.CreateEventTypeParams{
			Name: "order.created", Description: "An order was placed.",
			Schema: json.RawMessage(testSchema), Example: json.RawMessage(testExample), Now: h.now,
		})
		must(t, err, "CreateEventType")
		check := func(et *hook.EventType, what string) {
			t.Helper()
			eq(t, et.Name, "order.created", what+" Name")
			eq(t, et.Description, "An order was placed.", what+" Description")
			wantJSON(t, et.Schema, testSchema, what+" Schema")
			wantJSON(t, et.Example, testExample, what+" Example")
			eq(t, et.Archived, false, what+" Archived")
			wantTime(t, et.CreatedAt, h.now, what+" CreatedAt")
			wantTime(t, et.UpdatedAt, h.now, what+" UpdatedAt")
		}
		check(et, "created")
		got, err := h.s.GetEventType(h.ctx, "order.created")
		must(t, err, "GetEventType")
		check(got, "stored")

		bare, err := h.s.CreateEventType(h.ctx, &store.CreateEventTypeParams{Name: "order.paid", Now: h.now})
		must(t, err, "CreateEventType without schema")
		wantJSON(t, bare.Schema, "", "returned Schema")
		got, err = h.s.GetEventType(h.ctx, "order.paid")
		must(t, err, "GetEventType")
		wantJSON(t, got.Schema, "", "stored Schema")
		wantJSON(t, got.Example, "", "stored Example")
		eq(t, got.Description, "", "Description")

		_, err = h.s.GetEventType(h.ctx, "order.missing")
		wantErr(t, err, hook.ENotFound, "-", "GetEventType unknown")
	})

	t.Run("NameConflict", func(t *testing.T) {
		h := setup(t, open)
		_, err := h.s.CreateEventType(h.ctx, &store.CreateEventTypeParams{Name: "a.b", Now: h.now})
		must(t, err, "CreateEventType")
		_, err = h.s.CreateEventType(h.ctx, &store.CreateEventTypeParams{Name: "a.b", Description: "again", Now: h.now})
		wantErr(t, err, hook.EConflict, "name", "CreateEventType with a taken name")

		yes := true
		_, err = h.s.UpdateEventType(h.ctx, &store.UpdateEventTypeParams{Name: "a.b", Archived: &yes, Now: h.now})
		must(t, err, "archive")
		_, err = h.s.CreateEventType(h.ctx, &store.CreateEventTypeParams{Name: "a.b", Now: h.now})
		wantErr(t, err, hook.EConflict, "name", "CreateEventType with an archived name")
		got, err := h.s.GetEventType(h.ctx, "a.b")
		must(t, err, "GetEventType of an archived type")
		eq(t, got.Archived, true, "Archived")
		eq(t, got.Description, "", "Description untouched by the failed create")
	})

	t.Run("List", func(t *testing.T) {
		h := setup(t, open)
		// Created out of order; listed by name.
		for _, n := range []string{"t.e", "t.a", "t.g", "t.c", "t.b", "t.f", "t.d"} {
			_, err := h.s.CreateEventType(h.ctx, &store.CreateEventTypeParams{Name: n, Now: h.now})
			must(t, err, "CreateEventType "+n)
		}
		list := func(lp store.ListParams, archived bool) []string {
			t.Helper()
			var names []string
			for pages := 0; ; pages++ {
				if pages > maxPages {
					t.Fatalf("paging did not end after %d pages", maxPages)
				}
				page, err := h.s.ListEventTypes(h.ctx, &store.ListEventTypesParams{ListParams: lp, IncludeArchived: archived})
				must(t, err, "ListEventTypes")
				if len(page.Data) > lp.NormalizedLimit() {
					t.Fatalf("page of %d with limit %d", len(page.Data), lp.NormalizedLimit())
				}
				for _, et := range page.Data {
					names = append(names, et.Name)
				}
				if page.NextCursor == "" {
					return names
				}
				lp.Cursor = page.NextCursor
			}
		}
		all := []string{"t.a", "t.b", "t.c", "t.d", "t.e", "t.f", "t.g"}
		deepEq(t, list(store.ListParams{Limit: 3}, false), all, "names in pages of 3")
		deepEq(t, list(store.ListParams{}, false), all, "names, default limit")

		// Pages are 3, 3, 1 and the cursor ends.
		p1, err := h.s.ListEventTypes(h.ctx, &store.ListEventTypesParams{ListParams: store.ListParams{Limit: 3}})
		must(t, err, "page 1")
		eq(t, len(p1.Data), 3, "page 1 size")
		p2, err := h.s.ListEventTypes(h.ctx, &store.ListEventTypesParams{ListParams: store.ListParams{Limit: 3, Cursor: p1.NextCursor}})
		must(t, err, "page 2")
		eq(t, p2.Data[0].Name, "t.d", "page 2 starts after page 1")
		p3, err := h.s.ListEventTypes(h.ctx, &store.ListEventTypesParams{ListParams: store.ListParams{Limit: 3, Cursor: p2.NextCursor}})
		must(t, err, "page 3")
		eq(t, len(p3.Data), 1, "page 3 size")
		eq(t, p3.NextCursor, "", "last cursor")

		yes := true
		for _, n := range []string{"t.c", "t.g"} {
			_, err := h.s.UpdateEventType(h.ctx, &store.UpdateEventTypeParams{Name: n, Archived: &yes, Now: h.now})
			must(t, err, "archive "+n)
		}
		deepEq(t, list(store.ListParams{Limit: 2}, false), []string{"t.a", "t.b", "t.d", "t.e", "t.f"}, "archived hidden")
		deepEq(t, list(store.ListParams{Limit: 2}, true), all, "archived included")

		_, err = h.s.ListEventTypes(h.ctx, &store.ListEventTypesParams{ListParams: store.ListParams{Cursor: "%%not a cursor%%"}})
		wantErr(t, err, hook.EInvalid, "cursor", "malformed cursor")
	})

	t.Run("Update", func(t *testing.T) {
		h := setup(t, open)
		_, err := h.s.CreateEventType(h.ctx, &store.CreateEventTypeParams{
			Name: "user.signed_up", Description: "old", Schema: json.RawMessage(testSchema),
			Example: json.RawMessage(testExample), Now: h.now,
		})
		must(t, err, "CreateEventType")
		later := h.at(time.Minute)

		desc := "new"
		et, err := h.s.UpdateEventType(h.ctx, &store.UpdateEventTypeParams{Name: "user.signed_up", Description: &desc, Now: later})
		must(t, err, "update description")
		eq(t, et.Description, "new", "Description")
		wantJSON(t, et.Schema, testSchema, "Schema untouched")
		wantJSON(t, et.Example, testExample, "Example untouched")
		wantTime(t, et.CreatedAt, h.now, "CreatedAt")
		wantTime(t, et.UpdatedAt, later, "UpdatedAt")

		null := json.RawMessage("null")
		et, err = h.s.UpdateEventType(h.ctx, &store.UpdateEventTypeParams{Name: "user.signed_up", Schema: &null, Now: later})
		must(t, err, "null schema")
		wantJSON(t, et.Schema, "", "Schema removed")
		wantJSON(t, et.Example, testExample, "Example untouched")
		got, err := h.s.GetEventType(h.ctx, "user.signed_up")
		must(t, err, "GetEventType")
		wantJSON(t, got.Schema, "", "stored Schema removed")
		wantJSON(t, got.Example, testExample, "stored Example")
		eq(t, got.Description, "new", "stored Description")

		ex := json.RawMessage(`{"n":7}`)
		et, err = h.s.UpdateEventType(h.ctx, &store.UpdateEventTypeParams{Name: "user.signed_up", Example: &ex, Schema: &ex, Now: later})
		must(t, err, "set example and schema")
		wantJSON(t, et.Example, `{"n":7}`, "Example")
		wantJSON(t, et.Schema, `{"n":7}`, "Schema")
		et, err = h.s.UpdateEventType(h.ctx, &store.UpdateEventTypeParams{Name: "user.signed_up", Example: &null, Now: later})
		must(t, err, "null example")
		wantJSON(t, et.Example, "", "Example removed")
		wantJSON(t, et.Schema, `{"n":7}`, "Schema untouched")

		yes, no := true, false
		et, err = h.s.UpdateEventType(h.ctx, &store.UpdateEventTypeParams{Name: "user.signed_up", Archived: &yes, Now: later})
		must(t, err, "archive")
		eq(t, et.Archived, true, "Archived")
		eq(t, et.Description, "new", "Description untouched")
		et, err = h.s.UpdateEventType(h.ctx, &store.UpdateEventTypeParams{Name: "user.signed_up", Archived: &no, Now: later})
		must(t, err, "unarchive")
		eq(t, et.Archived, false, "Archived")
		got, err = h.s.GetEventType(h.ctx, "user.signed_up")
		must(t, err, "GetEventType")
		deepEqEventType(t, got, et)

		_, err = h.s.UpdateEventType(h.ctx, &store.UpdateEventTypeParams{Name: "user.missing", Description: &desc, Now: later})
		wantErr(t, err, hook.ENotFound, "-", "UpdateEventType unknown")
	})
}

func deepEqEventType(t *testing.T, got, want *hook.EventType) {
	t.Helper()
	eq(t, got.Name, want.Name, "Name")
	eq(t, got.Description, want.Description, "Description")
	wantJSON(t, got.Schema, string(want.Schema), "Schema")
	wantJSON(t, got.Example, string(want.Example), "Example")
	eq(t, got.Archived, want.Archived, "Archived")
	wantTime(t, got.CreatedAt, want.CreatedAt, "CreatedAt")
	wantTime(t, got.UpdatedAt, want.UpdatedAt, "UpdatedAt")
}

func testPutEventTypes(t *testing.T, open Opener) {
	h := setup(t, open)
	_, err := h.s.CreateEventType(h.ctx, &store.CreateEventTypeParams{
		Name: "order.paid", Description: "old", Schema: json.RawMessage(testSchema), Now: h.now,
	})
	must(t, err, "CreateEventType")
	yes := true
	_, err = h.s.UpdateEventType(h.ctx, &store.UpdateEventTypeParams{Name: "order.paid", Archived: &yes, Now: h.now})
	must(t, err, "archive")

	later := h.at(time.Minute)
	got, err := h.s.PutEventTypes(h.ctx, &store.PutEventTypesParams{Now: later, Types: []*hook.EventType{
		{Name: "order.created", Description: "new one", Schema: json.RawMessage(testSchema), Example: json.RawMessage(testExample)},
		{Name: "order.paid", Description: "replaced"},
	}})
	must(t, err, "PutEventTypes")
	eq(t, len(got), 2, "types returned")
	eq(t, got[0].Name, "order.created", "first returned")
	wantJSON(t, got[0].Schema, testSchema, "created Schema")
	wantJSON(t, got[0].Example, testExample, "created Example")
	wantTime(t, got[0].CreatedAt, later, "created CreatedAt")
	eq(t, got[1].Description, "replaced", "replaced Description")
	wantJSON(t, got[1].Schema, "", "replaced Schema (none given)")
	eq(t, got[1].Archived, false, "replaced Archived")
	wantTime(t, got[1].CreatedAt, h.now, "replaced keeps CreatedAt")
	wantTime(t, got[1].UpdatedAt, later, "replaced UpdatedAt")

	stored, err := h.s.GetEventType(h.ctx, "order.paid")
	must(t, err, "GetEventType")
	deepEqEventType(t, stored, got[1])
	page, err := h.s.ListEventTypes(h.ctx, &store.ListEventTypesParams{})
	must(t, err, "ListEventTypes")
	eq(t, len(page.Data), 2, "listed (none archived)")

	none, err := h.s.PutEventTypes(h.ctx, &store.PutEventTypesParams{Now: later})
	must(t, err, "PutEventTypes with nothing")
	eq(t, len(none), 0, "nothing returned")
}
