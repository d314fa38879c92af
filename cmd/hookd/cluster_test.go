package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/pgtest"
	"github.com/hookd/hookd/internal/secrets"
	"github.com/hookd/hookd/webhook"
)

// testPostgres returns a DSN for a fresh schema in the database that
// HOOKD_TEST_POSTGRES_DSN names, dropped when the test ends, or skips.
func testPostgres(t *testing.T) string {
	t.Helper()
	base := pgtest.DSN(t, "the PostgreSQL cluster test")
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("HOOKD_TEST_POSTGRES_DSN: %v", err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "hookd_e2e_" + hex.EncodeToString(b)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	_ = conn.Close(ctx)
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), base)
		if err != nil {
			return
		}
		_, _ = conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = conn.Close(context.Background())
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// clusterReceiver stands for the customers' endpoints: each path is one
// endpoint. It verifies every signature, counts deliveries per endpoint
// and event, and records the most requests any endpoint had at once.
type clusterReceiver struct {
	srv       *httptest.Server
	mu        sync.Mutex
	verifiers map[string]*webhook.Verifier
	seen      map[string]map[string]int // path -> webhook-id -> count
	cur, peak map[string]int
	bad       atomic.Int64
}

func newClusterReceiver(t *testing.T) *clusterReceiver {
	r := &clusterReceiver{
		verifiers: map[string]*webhook.Verifier{}, seen: map[string]map[string]int{},
		cur: map[string]int{}, peak: map[string]int{},
	}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		path := req.URL.Path
		r.mu.Lock()
		v := r.verifiers[path]
		r.cur[path]++
		r.peak[path] = max(r.peak[path], r.cur[path])
		r.mu.Unlock()
		time.Sleep(time.Millisecond) // long enough for attempts to overlap
		ok := v != nil && v.Verify(req.Header, body) == nil
		r.mu.Lock()
		r.cur[path]--
		if ok {
			if r.seen[path] == nil {
				r.seen[path] = map[string]int{}
			}
			r.seen[path][req.Header.Get("webhook-id")]++
		}
		r.mu.Unlock()
		if !ok {
			r.bad.Add(1)
			w.WriteHeader(401)
			return
		}
		w.WriteHeader(204)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// missing returns how many (endpoint, event) pairs have not arrived, with
// a few examples.
func (r *clusterReceiver) missing(paths, ids []string) (int, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ex := 0, []string(nil)
	for _, p := range paths {
		for _, id := range ids {
			if r.seen[p][id] == 0 {
				n++
				if len(ex) < 5 {
					ex = append(ex, p+" "+id)
				}
			}
		}
	}
	return n, ex
}

// TestClusterOfThreeSurvivesSIGKILL runs three hookd processes on one
// PostgreSQL database, pours events in through all three, SIGKILLs one
// mid-run, and checks that every accepted event reached every subscribed
// endpoint, that the endpoint concurrency limit held across the nodes,
// and that one event id POSTed to all three nodes at once is one event.
func TestClusterOfThreeSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test skipped in -short mode")
	}
	dsn := testPostgres(t)
	const limit = 6
	env := []string{"HOOKD_LEASE_DURATION=10s", fmt.Sprintf("HOOKD_ENDPOINT_CONCURRENCY=%d", limit),
		"HOOKD_SECRET_KEY=" + secrets.EncodeKey(secrets.GenerateKey())} // one key for the cluster

	// Started together: the migrations run under a lock.
	nodes := make([]*hookdProc, 3)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() { defer wg.Done(); nodes[i] = startHookd(t, dsn, env...) }()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	rc := newClusterReceiver(t)
	ctx := context.Background()
	app := must[*client.App](t, "create app")(nodes[0].api.CreateApp(ctx, client.AppCreateRequest{Name: "cluster", UID: ptr("cluster-shop")}))
	paths := []string{"/a", "/b", "/c"}
	for _, p := range paths {
		ep := must[*client.Endpoint](t, "create endpoint")(nodes[0].api.CreateEndpoint(ctx, app.ID, client.EndpointCreateRequest{URL: rc.srv.URL + p}))
		secret := must[string](t, "get endpoint secret")(nodes[1].api.GetEndpointSecret(ctx, app.ID, ep.ID))
		v, err := webhook.NewVerifier(secret)
		if err != nil {
			t.Fatal(err)
		}
		rc.mu.Lock()
		rc.verifiers[p] = v
		rc.mu.Unlock()
	}

	// Idempotency across nodes: each id POSTed to all three at once.
	var same []string
	for i := range 30 {
		id := fmt.Sprintf("same-%d", i)
		same = append(same, id)
		var wg sync.WaitGroup
		for _, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := n.api.PublishEvent(ctx, app.ID, client.EventCreateRequest{
					ID: &id, Type: "order.created", Data: map[string]any{"i": i},
				}); err != nil {
					t.Errorf("POST %s: %v", id, err)
				}
			}()
		}
		wg.Wait()
	}
	for _, id := range same {
		page := must[*client.ListDelivery](t, "list deliveries")(nodes[2].api.ListDeliveriesPage(ctx, app.ID,
			&client.ListDeliveriesParams{Event: &id, Limit: ptr[int64](250)}))
		if len(page.Data) != len(paths) {
			t.Errorf("event %s POSTed to 3 nodes at once has %d deliveries, want %d (one event, one per endpoint)", id, len(page.Data), len(paths))
		}
	}

	// Pour through all three; kill node 1 once deliveries flow.
	stop := make(chan struct{})
	accepted := make([][]string, len(nodes))
	var pours sync.WaitGroup
	for i, n := range nodes {
		pours.Add(1)
		go func() { defer pours.Done(); accepted[i] = pour(n, app.ID, fmt.Sprintf("n%d", i), 100000, stop) }()
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		rc.mu.Lock()
		got := len(rc.seen["/a"])
		rc.mu.Unlock()
		if got >= 1500 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := nodes[1].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-nodes[1].done
	time.Sleep(time.Second) // the survivors keep taking events
	close(stop)
	pours.Wait()

	all := append([]string(nil), same...)
	for i, a := range accepted {
		t.Logf("node %d accepted %d events", i, len(a))
		if len(a) < 100 {
			t.Errorf("node %d accepted only %d events; the test needs load on every node", i, len(a))
		}
		all = append(all, a...)
	}

	waitUntil := time.Now().Add(90 * time.Second)
	for {
		n, ex := rc.missing(paths, all)
		if n == 0 {
			break
		}
		if time.Now().After(waitUntil) {
			t.Fatalf("%d (endpoint, event) deliveries never arrived, e.g. %v\ndatabase:\n%s\nnode 0 logs:\n%s",
				n, ex, dumpDispatchState(dsn), tail(nodes[0].logs.String(), 3000))
		}
		time.Sleep(50 * time.Millisecond)
	}

	rc.mu.Lock()
	dups := 0
	for _, byID := range rc.seen {
		for _, c := range byID {
			dups += c - 1
		}
	}
	peaks := fmt.Sprint(rc.peak)
	for p, pk := range rc.peak {
		if pk > limit {
			t.Errorf("endpoint %s had %d requests at once; HOOKD_ENDPOINT_CONCURRENCY=%d is for the cluster", p, pk, limit)
		}
	}
	rc.mu.Unlock()
	if b := rc.bad.Load(); b != 0 {
		t.Errorf("%d requests failed signature verification", b)
	}
	t.Logf("all %d accepted events reached all %d endpoints (%d deliveries); %d duplicates after the SIGKILL; peak concurrency per endpoint %s (limit %d)",
		len(all), len(paths), len(all)*len(paths), dups, peaks, limit)

	for _, i := range []int{0, 2} {
		if err := nodes[i].cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for _, i := range []int{0, 2} {
		select {
		case <-nodes[i].done:
			if nodes[i].err != nil {
				t.Errorf("node %d exited with %v after SIGTERM", i, nodes[i].err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("node %d did not exit within 30s of SIGTERM", i)
		}
	}
}

// dumpDispatchState describes the deliveries not yet done and the
// endpoint slots, for a failure message.
func dumpDispatchState(dsn string) string {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err.Error()
	}
	defer conn.Close(ctx)
	var b strings.Builder
	for _, q := range []string{
		`SELECT status, coalesce(lease_owner, '-'), available_at <= now(), count(*)::text, min(available_at)::text, max(attempt_count)::text
		 FROM deliveries WHERE status <> 'succeeded' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
		`SELECT endpoint_id, owner, slots::text, want::text, lease_until::text FROM endpoint_slots ORDER BY 1, 2`,
	} {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			fmt.Fprintln(&b, err)
			continue
		}
		for rows.Next() {
			vals, _ := rows.Values()
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
	}
	return b.String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}
