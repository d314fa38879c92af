package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// CheckUpgradedAttempts is the second half of a backend's test that its
// databases upgrade in place to inline attempts (issue 18). Before the
// upgrade, the test wrote, with SQL, app_1 with endpoint ep_1 and events
// e1..e4 (created t0+1s..t0+4s, t0 = now - 1h) and their deliveries,
// created in this order (each delivery with duration 5 ms, trigger
// scheduled, attempts in the order of their seq, error kind "status" for
// a status >= 300):
//
//   - dlv_a, succeeded after 2 attempts: att_a1 (500, body "no", t0+10s)
//     and att_a2 (200, "ok", t0+20s);
//   - dlv_b, failed after 2: att_b1 (500, "no", t0+11s), att_b2 (500,
//     "no", t0+21s);
//   - dlv_c, pending, 1 scheduled attempt made, next at due: att_c1 (503,
//     "later", t0+12s);
//   - dlv_d, succeeded at once: att_d1 (200, "ok", t0+13s);
//
// with the attempts' seqs in the order a1, b1, c1, d1, a2, b2. Then it
// migrated up and opened s. CheckUpgradedAttempts checks that every answer
// is as it was, that dlv_c is claimed when due, and records dlv_c's retry
// and a new first-try success (dlv_e), which list above the old attempts.
// count returns how many attempts rows a delivery has, and whether it has
// an inline attempt (1) or not (0), from the backend's own tables.
func CheckUpgradedAttempts(t *testing.T, s store.Store, now, due time.Time, count func(deliveryID string) (rows, inline int)) {
	t.Helper()
	ctx := context.Background()
	t0 := now.Add(-time.Hour)
	type att struct {
		id     string
		number int
		status int
		body   string
		at     time.Duration
	}
	want := map[string][]att{
		"dlv_a": {{"att_a1", 1, 500, "no", 10 * time.Second}, {"att_a2", 2, 200, "ok", 20 * time.Second}},
		"dlv_b": {{"att_b1", 1, 500, "no", 11 * time.Second}, {"att_b2", 2, 500, "no", 21 * time.Second}},
		"dlv_c": {{"att_c1", 1, 503, "later", 12 * time.Second}},
		"dlv_d": {{"att_d1", 1, 200, "ok", 13 * time.Second}},
	}
	for id, atts := range want {
		d, err := s.GetDelivery(ctx, "app_1", id)
		if err != nil {
			t.Fatalf("GetDelivery %s: %v", id, err)
		}
		if len(d.Attempts) != len(atts) {
			t.Fatalf("%s: %d attempts, want %d", id, len(d.Attempts), len(atts))
		}
		for i, w := range atts {
			a := d.Attempts[i]
			kind := ""
			if w.status >= 300 {
				kind = hook.ErrorKindStatus
			}
			if a.ID != w.id || a.Number != w.number || a.ResponseStatus != w.status || a.ResponseBody != w.body ||
				!a.StartedAt.Equal(t0.Add(w.at)) || a.DurationMillis != 5 || a.ErrorKind != kind || a.Trigger != hook.TriggerScheduled {
				t.Errorf("%s: attempt %d: %+v, want %+v", id, i, a, w)
			}
		}
	}
	for status, ids := range map[string][]string{
		hook.DeliverySucceeded: {"dlv_d", "dlv_a"},
		hook.DeliveryFailed:    {"dlv_b"},
		hook.DeliveryPending:   {"dlv_c"},
	} {
		page, err := s.ListDeliveries(ctx, &store.ListDeliveriesParams{AppID: "app_1", Status: status})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range page.Data {
			got = append(got, d.ID)
		}
		if !slices.Equal(got, ids) {
			t.Errorf("ListDeliveries %s: %v, want %v", status, got, ids)
		}
	}
	listAll := func(p store.ListAttemptsParams, limit int) []string {
		t.Helper()
		p.AppID, p.Limit = "app_1", limit
		var out []string
		for range 100 {
			page, err := s.ListAttempts(ctx, &p)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range page.Data {
				out = append(out, a.ID)
			}
			if p.Cursor = page.NextCursor; p.Cursor == "" {
				break
			}
		}
		return out
	}
	wantList := func(p store.ListAttemptsParams, want []string, what string) {
		t.Helper()
		for _, limit := range []int{1, 2, 50} {
			if got := listAll(p, limit); !slices.Equal(got, want) {
				t.Errorf("%s, by %d: %v, want %v", what, limit, got, want)
			}
		}
	}
	wantList(store.ListAttemptsParams{}, []string{"att_b2", "att_a2", "att_d1", "att_c1", "att_b1", "att_a1"}, "attempts after the upgrade")
	wantList(store.ListAttemptsParams{DeliveryID: "dlv_a"}, []string{"att_a2", "att_a1"}, "dlv_a's attempts")
	wantList(store.ListAttemptsParams{StatusClass: store.StatusClass5xx}, []string{"att_b2", "att_c1", "att_b1", "att_a1"}, "5xx")
	wantList(store.ListAttemptsParams{ErrorKind: hook.ErrorKindStatus}, []string{"att_b2", "att_c1", "att_b1", "att_a1"}, "error kind")
	wantList(store.ListAttemptsParams{StatusClass: store.StatusClass2xx}, []string{"att_a2", "att_d1"}, "2xx")

	// The pending one is claimed when due, not before.
	claim := func(at time.Time) []string {
		t.Helper()
		c, err := s.ClaimDeliveries(ctx, &store.ClaimDeliveriesParams{Owner: "w", Now: at, LeaseUntil: at.Add(time.Minute), Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, j := range c.Jobs {
			ids = append(ids, j.DeliveryID)
			if j.AttemptCount != 1 || j.ScheduledAttempts != 1 {
				t.Errorf("claimed %s: %d attempts made, %d scheduled; want 1, 1", j.DeliveryID, j.AttemptCount, j.ScheduledAttempts)
			}
		}
		return ids
	}
	if got := claim(now); len(got) != 0 {
		t.Fatalf("claimed before due: %v", got)
	}
	if got := claim(due); !slices.Equal(got, []string{"dlv_c"}) {
		t.Fatalf("claimed when due: %v, want [dlv_c]", got)
	}
	record := func(id, attID string, number int) {
		t.Helper()
		if err := s.RecordAttempt(ctx, &store.RecordAttemptParams{Owner: "w", Attempt: &hook.Attempt{
			ID: attID, DeliveryID: id, Number: number, Trigger: hook.TriggerScheduled, StartedAt: due,
			Duration: 5 * time.Millisecond, ResponseStatus: 200, ResponseBody: "ok",
		}, ScheduledAttempts: number, Decision: hook.Decision{Status: hook.DeliverySucceeded}, EndpointID: "ep_1", Now: due}); err != nil {
			t.Fatal(err)
		}
	}
	record("dlv_c", "att_c2", 2)
	// A new first-try success, after the upgrade: inline, the newest.
	res, err := s.InsertEvent(ctx, &store.InsertEventParams{
		Event:      &hook.Event{ID: "e5", AppID: "app_1", Type: "a.b", Data: []byte(`{}`), CreatedAt: due},
		Deliveries: []store.NewDelivery{{ID: "dlv_e", EndpointID: "ep_1", Claimed: true}},
		Owner:      "w", LeaseUntil: due.Add(time.Minute),
	})
	if err != nil || len(res.Deliveries) != 1 {
		t.Fatalf("InsertEvent: %v", err)
	}
	record("dlv_e", "att_e1", 1)
	if rows, inline := count("dlv_e"); rows != 0 || inline != 1 {
		t.Errorf("a first-try success after the upgrade: %d attempts rows, inline %d; want 0, 1 (above the old seqs)", rows, inline)
	}
	if rows, inline := count("dlv_c"); rows != 2 || inline != 0 {
		t.Errorf("a success on retry: %d attempts rows, inline %d; want 2, 0", rows, inline)
	}
	wantList(store.ListAttemptsParams{}, []string{"att_e1", "att_c2", "att_b2", "att_a2", "att_d1", "att_c1", "att_b1", "att_a1"},
		"attempts after new ones")
	wantList(store.ListAttemptsParams{StatusClass: store.StatusClass2xx}, []string{"att_e1", "att_c2", "att_a2", "att_d1"}, "2xx after new ones")
	for id, n := range map[string]int{"dlv_c": 2, "dlv_e": 1} {
		d, err := s.GetDelivery(ctx, "app_1", id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != hook.DeliverySucceeded || len(d.Attempts) != n || d.Attempts[n-1].ID != fmt.Sprintf("att_%s%d", id[4:], n) {
			t.Errorf("%s after its success: status %s, %d attempts", id, d.Status, len(d.Attempts))
		}
	}
}
