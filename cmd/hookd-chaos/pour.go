package main

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// pour publishes cfg.events events at cfg.rate per second, event i to node
// i mod len(nodes) first; a request that fails (the node is down, or
// answers 5xx) goes to the next node with the same id until it is accepted
// or the deadline passes. It returns the ids accepted (202, replays
// included), how many answers were replays, and how many were not accepted.
func pour(nodes []*node, appID string, cfg config, t0 time.Time, deadline time.Time) (accepted []string, replayed, rejected int) {
	var mu sync.Mutex
	jobs := make(chan int, 1024)
	var wg sync.WaitGroup
	pad := strings.Repeat("x", 200)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				id := fmt.Sprintf("chaos-%d-%d", cfg.seed, i)
				body := map[string]any{"id": id, "type": "order.created", "data": map[string]any{"order": i, "pad": pad}}
				ok, rep := false, false
				for try := 0; time.Now().Before(deadline); try++ {
					n := nodes[(i+try)%len(nodes)]
					code, h, err := n.callH("POST", "/v1/apps/"+appID+"/events", body, nil)
					if err == nil && code == 202 {
						ok, rep = true, h.Get("Idempotent-Replayed") == "true"
						break
					}
					if err == nil && code/100 == 4 && code != 429 {
						fmt.Printf("  event %s refused by node %d: %d\n", id, n.idx, code)
						break
					}
					time.Sleep(50 * time.Millisecond)
				}
				mu.Lock()
				if ok {
					accepted = append(accepted, id)
					if rep {
						replayed++
					}
				} else {
					rejected++
				}
				mu.Unlock()
			}
		}()
	}
	interval := time.Duration(float64(time.Second) / cfg.rate)
	for i := range cfg.events {
		time.Sleep(time.Until(t0.Add(time.Duration(i) * interval)))
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return accepted, replayed, rejected
}
