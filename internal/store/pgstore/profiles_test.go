package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// TestInsertEventFieldsEveryPath: the event fields of profiles (previous
// attributes, livemode, request id, api version) and the deliveries'
// livemode are written alike by each of the group writers' statements: all
// of a group's events in one statement, one statement per event, and an
// event in a transaction of its own. A replay in a group returns the
// stored event's fields.
func TestInsertEventFieldsEveryPath(t *testing.T) {
	s := openTemp(t)
	appID, eps := fixture(t, s, 2)
	ctx := context.Background()
	now := ms(time.Now())

	newOp := func(id string, i int) *insertEventOp {
		ev := &hook.Event{
			ID: id, AppID: appID, Type: "user.updated", Data: json.RawMessage(`{"i":` + fmt.Sprint(i) + `}`),
			Livemode: i%2 == 0, RequestID: "req_" + id, APIVersion: fmt.Sprintf("v%d", i), CreatedAt: now,
		}
		if i%3 == 0 {
			ev.PreviousAttributes = json.RawMessage(`{"i":-1}`)
		}
		op := &insertEventOp{ev: ev, owner: "w", leaseUntil: now.Add(time.Minute), unowned: true,
			deliveries: []store.NewDelivery{
				{ID: hook.NewID("dlv"), EndpointID: eps[0]},
				{ID: hook.NewID("dlv"), EndpointID: eps[1], Claimed: i%2 == 1},
			}}
		op.ctx = ctx
		return op
	}
	check := func(what string, op *insertEventOp, i int, created bool) {
		t.Helper()
		if op.err != nil {
			t.Fatalf("%s %s: %v", what, op.ev.ID, op.err)
		}
		if op.res == nil || op.res.Created != created {
			t.Fatalf("%s %s: result %+v, want Created %v", what, op.ev.ID, op.res, created)
		}
		want := newOp(op.ev.ID, i).ev
		stored, err := s.GetEvent(ctx, appID, op.ev.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range []*hook.Event{op.res.Event, stored} {
			if e.Livemode != want.Livemode || e.RequestID != want.RequestID || e.APIVersion != want.APIVersion ||
				string(e.PreviousAttributes) != string(want.PreviousAttributes) || string(e.Data) != string(want.Data) {
				t.Fatalf("%s %s: event %+v, want %+v", what, op.ev.ID, e, want)
			}
		}
		page, err := s.ListDeliveries(ctx, &store.ListDeliveriesParams{AppID: appID, EventID: op.ev.ID})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 2 {
			t.Fatalf("%s %s: %d deliveries", what, op.ev.ID, len(page.Data))
		}
		for _, d := range append(page.Data, op.res.Deliveries...) {
			if d.Livemode != want.Livemode {
				t.Fatalf("%s %s: delivery %s Livemode %v, want %v", what, op.ev.ID, d.ID, d.Livemode, want.Livemode)
			}
		}
	}

	for _, mode := range []string{"bulk", "statement", "alone"} {
		var ops []*insertEventOp
		for i := range 6 {
			ops = append(ops, newOp(mode+fmt.Sprint(i), i))
		}
		switch mode {
		case "bulk", "statement":
			s.noBulk = mode == "statement"
			group := make([]groupOp, len(ops))
			for i, op := range ops {
				group[i] = op
			}
			if err := s.runGroup(group); err != nil {
				t.Fatalf("%s: %v", mode, err)
			}
			s.noBulk = false
		case "alone":
			for _, op := range ops {
				if err := s.runAlone(op); err != nil {
					t.Fatalf("%s %s: %v", mode, op.ev.ID, err)
				}
			}
		}
		for i, op := range ops {
			check(mode, op, i, true)
		}
	}

	// Replays, in a group of two and alone, with other fields: the stored
	// ones come back.
	r1, r2, r3 := newOp("bulk1", 2), newOp("statement4", 3), newOp("alone5", 0)
	if err := s.runGroup([]groupOp{r1, r2}); err != nil {
		t.Fatal(err)
	}
	if err := s.runAlone(r3); err != nil {
		t.Fatal(err)
	}
	check("replay", r1, 1, false)
	check("replay", r2, 4, false)
	check("replay", r3, 5, false)

	// Previous attributes PostgreSQL refuses as JSON are the caller's
	// fault, on that field.
	_, err := s.InsertEvent(ctx, &store.InsertEventParams{Event: &hook.Event{
		ID: hook.NewID("evt"), AppID: appID, Type: "a.b", Data: []byte(`{}`), PreviousAttributes: []byte(`{"a":`),
		CreatedAt: now,
	}})
	var he *hook.Error
	if hook.ErrorCode(err) != hook.EInvalid || !errors.As(err, &he) || he.Field != "previous_attributes" {
		t.Fatalf("InsertEvent with invalid previous attributes: %v", err)
	}
}

// TestMigrationDown: the latest migration goes down and up again, with
// data in its tables.
func TestMigrationDown(t *testing.T) {
	dsn := newSchema(t)
	ctx := context.Background()
	s := openDSN(t, dsn)
	appID, eps := fixture(t, s, 1)
	if _, err := s.InsertEvent(ctx, &store.InsertEventParams{
		Event:      &hook.Event{ID: "e1", AppID: appID, Type: "a.b", Data: []byte(`{}`), Livemode: true, CreatedAt: time.Now()},
		Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: eps[0]}},
	}); err != nil {
		t.Fatal(err)
	}
	m := migratorAt(t, dsn, 0)
	if _, err := m.p.Down(ctx); err != nil {
		t.Fatalf("down: %v", err)
	}
	if _, err := m.p.Up(ctx); err != nil {
		t.Fatalf("up again: %v", err)
	}
	ev, err := s.GetEvent(ctx, appID, "e1")
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Livemode || ev.PreviousAttributes != nil {
		t.Fatalf("event after down and up: %+v", ev)
	}
}
