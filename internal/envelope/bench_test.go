package envelope

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

// benchContext is an order.updated delivery with about 1 KiB of data.
func benchContext(b *testing.B) *Context {
	var sb strings.Builder
	sb.WriteString(`{"order_id":"ord_1001","payment_status":"paid","total":4200,"currency":"EUR",` +
		`"user":{"id":"usr_1","clientUserId":"c-1"},"invoice":{"id":"inv_1","amount":4200},` +
		`"customer":{"id":301,"email":"customer@example.com","name":"Alex Smith"},"items":[`)
	for i := 0; sb.Len() < 1000; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"sku":"OXFORD-BLUE-M","quantity":1,"price":{"amount":"39.95","currency":"EUR"}}`)
	}
	sb.WriteString(`]}`)
	data := compactJSON(b, []byte(sb.String()))
	if len(data) < 1000 || len(data) > 1200 {
		b.Fatalf("data is %d bytes", len(data))
	}
	return &Context{
		Event: &hook.Event{
			ID: "evt_01jc0000000000000000000000", AppID: "app_1", Type: "order.updated", Data: json.RawMessage(data),
			PreviousAttributes: json.RawMessage(`{"payment_status":"pending"}`), Livemode: true, RequestID: "req_1",
			CreatedAt: time.Now(),
		},
		App:        &hook.App{ID: "app_1", UID: "acme", Name: "Acme", APIVersion: "2026-01-01"},
		EndpointID: "ep_1", DeliveryID: "dlv_1", Attempt: 1,
	}
}

func BenchmarkRender(b *testing.B) {
	c := benchContext(b)
	type bench struct {
		name string
		spec Spec
	}
	var specs []bench
	for _, p := range hook.Profiles {
		specs = append(specs, bench{p, Spec{Profile: p}})
	}
	specs = append(specs, bench{"jq", Spec{Envelope: `{id, type, created: .created, data: {object: .data}, tenant: .app.uid}`}})
	for _, s := range specs {
		b.Run(s.name, func(b *testing.B) {
			r := NewRenderer(Options{})
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(len(c.Event.Data)))
			for b.Loop() {
				if _, err := r.Render(ctx, s.spec, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	c := benchContext(b)
	r := NewRenderer(Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ok, err := r.Match(ctx, `.type == "order.updated" and .data.payment_status == "paid"`, c)
		if err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkSandbox measures what running jq in the sandbox costs, as hookd
// serve does: an envelope, a filter, and ten filters evaluated together
// (MatchAll, as a publish to ten filtered endpoints does), each on a warm
// worker. Compare with BenchmarkRender/jq and BenchmarkMatch (in process).
func BenchmarkSandbox(b *testing.B) {
	c := benchContext(b)
	sb, err := NewSandbox(SandboxOptions{Workers: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close()
	r := NewRenderer(Options{Sandbox: sb})
	ctx := context.Background()
	const filter = `.type == "order.updated" and .data.payment_status == "paid"`
	b.Run("envelope", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Render(ctx, Spec{Envelope: `{id, type, created: .created, data: {object: .data}, tenant: .app.uid}`}, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("filter", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if ok, err := r.Match(ctx, filter, c); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("10-filters", func(b *testing.B) {
		runs := make([]FilterRun, 10)
		for i := range runs {
			cc := *c
			cc.EndpointID = fmt.Sprintf("ep_%d", i)
			runs[i] = FilterRun{Filter: filter, Context: &cc}
		}
		b.ReportAllocs()
		for b.Loop() {
			for _, res := range r.MatchAll(ctx, "app_1", time.Second, runs) {
				if !res.Match {
					b.Fatal(res)
				}
			}
		}
	})
}
