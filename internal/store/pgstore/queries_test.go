package pgstore

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// TestAttemptAppEveryPath: each of the group writers' statements (all of a
// group's attempts in one statement, one statement per attempt, and an
// attempt in a transaction of its own) keeps the attempt's app, so that
// ListAttempts finds it.
func TestAttemptAppEveryPath(t *testing.T) {
	s := openTemp(t)
	appID, eps := fixture(t, s, 1)
	ctx := context.Background()
	now := ms(time.Now())
	var want []string
	newOp := func() *recordAttemptOp {
		res, err := s.InsertEvent(ctx, &store.InsertEventParams{
			Event:      &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "a.b", Data: json.RawMessage(`{}`), CreatedAt: now},
			Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: eps[0]}},
		})
		if err != nil {
			t.Fatal(err)
		}
		op := &recordAttemptOp{a: hook.Attempt{ID: hook.NewID("att"), DeliveryID: res.Deliveries[0].ID, Number: 1,
			Trigger: hook.TriggerScheduled, StartedAt: now, ResponseStatus: 200}, status: hook.DeliverySucceeded, now: now}
		op.ctx = ctx
		want = append(want, op.a.ID)
		return op
	}
	for _, mode := range []string{"bulk", "statement", "alone"} {
		ops := []groupOp{newOp(), newOp(), newOp()}
		switch mode {
		case "bulk", "statement":
			s.noBulk = mode == "statement"
			if err := s.runGroup(ops); err != nil {
				t.Fatalf("%s: %v", mode, err)
			}
			s.noBulk = false
		case "alone":
			for _, op := range ops {
				if err := s.runAlone(op); err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
			}
		}
	}
	page, err := s.ListAttempts(ctx, &store.ListAttemptsParams{AppID: appID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range page.Data {
		got = append(got, a.ID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("ListAttempts: %v, want %v", got, want)
	}
}
