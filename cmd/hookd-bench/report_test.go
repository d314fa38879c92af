package main

import (
	"math"
	"testing"
)

func TestPerDelivery(t *testing.T) {
	t.Parallel()
	hookdSec := 1.0
	tests := []struct {
		name string
		res  result
		load loadResult
		want *budget
	}{
		{
			name: "child process",
			res:  result{NumCPU: 2, Raw: &rawResult{PostsPerSec: 40000, CPUPerPostUs: 50}},
			load: loadResult{DeliveriesPerSec: 5000, Usage: usage{WindowSec: 10, HookdCPUSec: &hookdSec,
				BenchCPUSec: 0.5, MachineCores: 0.2, OtherCores: 0.05}},
			// 50,000 deliveries; 2 s of machine CPU; 2 cores / (0.35 x 40,000/s).
			want: &budget{MachineUs: 40, BenchUs: 10, OtherUs: 10, TargetRatio: 0.35, Cores: 2,
				BudgetUs: 142.857, PostsUs: 100},
		},
		{
			name: "no raw rate",
			res:  result{NumCPU: 2},
			load: loadResult{DeliveriesPerSec: 5000, Usage: usage{WindowSec: 10, MachineCores: 0.2}},
		},
		{
			name: "nothing delivered",
			res:  result{NumCPU: 2, Raw: &rawResult{PostsPerSec: 40000}},
			load: loadResult{Usage: usage{WindowSec: 10, MachineCores: 0.2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := tt.res.perDelivery(&tt.load)
			if (got == nil) != (tt.want == nil) {
				t.Fatalf("perDelivery = %+v, want %+v", got, tt.want)
			}
			if got == nil {
				return
			}
			near := func(what string, g, w float64) {
				if math.Abs(g-w) > 0.01 {
					t.Errorf("%s = %.3f, want %.3f", what, g, w)
				}
			}
			near("machine", got.MachineUs, tt.want.MachineUs)
			near("bench", got.BenchUs, tt.want.BenchUs)
			near("other", got.OtherUs, tt.want.OtherUs)
			near("budget", got.BudgetUs, tt.want.BudgetUs)
			near("two posts", got.PostsUs, tt.want.PostsUs)
			if got.HookdUs == nil {
				t.Fatal("no hookd figure")
			}
			near("hookd", *got.HookdUs, 20)
		})
	}
}
