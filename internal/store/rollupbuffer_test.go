package store

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestRollupBufferMerges: adding rollups in several steps, with a Take and
// a Restore between them, gives what MergeRollups gives of them all.
func TestRollupBufferMerges(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var all []AttemptRollup
	gen := func(n int) []AttemptRollup {
		rs := make([]AttemptRollup, n)
		for i := range rs {
			rs[i] = AttemptRollup{AppID: "app", EndpointID: []string{"e1", "e2", "e3"}[r.IntN(3)],
				Minute: int64(r.IntN(3)) * 60_000, Succeeded: int64(r.IntN(2)), FailedAttempts: int64(r.IntN(2)),
				LastAt: int64(r.IntN(5)), LastStatus: 200 + r.IntN(300)}
			rs[i].Latency = rs[i].Latency.Observe(0).Observe(0)
		}
		all = append(all, rs...)
		return rs
	}
	var b RollupBuffer
	b.Add(gen(20)...)
	taken := b.Take()
	if b.Len() != 0 {
		t.Fatalf("Len after Take: %d", b.Len())
	}
	b.Add(gen(20)...) // added while taken ones are being written
	b.Restore(taken)  // their write failed: they go back first
	b.Add(gen(20)...)
	got := b.Take()
	want := MergeRollups(all)
	byKey := func(rs []AttemptRollup) map[[2]any]AttemptRollup {
		m := map[[2]any]AttemptRollup{}
		for _, x := range rs {
			m[[2]any{x.EndpointID, x.Minute}] = x
		}
		return m
	}
	if len(got) != len(want) || !reflect.DeepEqual(byKey(got), byKey(want)) {
		t.Fatalf("buffer:\n got  %+v\n want %+v", got, want)
	}
	for _, x := range all {
		if x.Latency[0] != 2 {
			t.Fatalf("an added rollup's latency was modified: %v", x.Latency)
		}
	}
}
