package hook

import (
	"fmt"
	"testing"
)

// BenchmarkFanoutMatching measures the subscription step of fan-out: one
// event type checked against each of an app's endpoints (what Publish
// does per event before filters). The endpoints mix every kind of
// subscription: all types, exact names, and wildcards at each level.
func BenchmarkFanoutMatching(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		eps := make([]*Endpoint, n)
		for i := range eps {
			switch i % 5 {
			case 0:
				eps[i] = &Endpoint{} // every type
			case 1:
				eps[i] = &Endpoint{EventTypes: []string{"order.created"}}
			case 2:
				eps[i] = &Endpoint{EventTypes: []string{"invoice.*", "order.*"}}
			case 3:
				eps[i] = &Endpoint{EventTypes: []string{fmt.Sprintf("customer.t%d.updated", i), "order.line.*"}}
			default:
				eps[i] = &Endpoint{EventTypes: []string{"user.created", "user.deleted", "invoice.paid"}}
			}
		}
		b.Run(fmt.Sprintf("endpoints=%d", n), func(b *testing.B) {
			matched := 0
			for b.Loop() {
				for _, ep := range eps {
					if ep.Subscribes("order.created") {
						matched++
					}
				}
			}
			if matched == 0 {
				b.Fatal("nothing matched")
			}
		})
	}
}
