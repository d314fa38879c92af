package main

import (
	"fmt"
	"net/url"
	"sort"
	"time"
)

type delivery struct {
	ID           string     `json:"id"`
	EventID      string     `json:"event_id"`
	EndpointID   string     `json:"endpoint_id"`
	Status       string     `json:"status"`
	AttemptCount int        `json:"attempt_count"`
	Attempts     []*attempt `json:"attempts"`
}

type attempt struct {
	Number         int       `json:"number"`
	Trigger        string    `json:"trigger"`
	StartedAt      time.Time `json:"started_at"`
	DurationMillis int64     `json:"duration_ms"`
	ResponseStatus int       `json:"response_status"`
	ErrorKind      string    `json:"error_kind"`
	Error          string    `json:"error"`
}

type page struct {
	Data       []*delivery `json:"data"`
	NextCursor *string     `json:"next_cursor"`
}

// pendingFor counts (0 or 1) pending deliveries of one endpoint.
func pendingFor(nodes []*node, appID, epID string) (int, error) {
	var p page
	if err := anyCall(nodes, "/v1/apps/"+appID+"/deliveries?status=pending&limit=1&endpoint="+epID, &p); err != nil {
		return 0, err
	}
	return len(p.Data), nil
}

// listDeliveries reads every delivery of one endpoint, by event id.
func listDeliveries(nodes []*node, appID, epID string) (map[string]*delivery, error) {
	out := map[string]*delivery{}
	cursor := ""
	for {
		path := "/v1/apps/" + appID + "/deliveries?limit=250&endpoint=" + epID
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var p page
		if err := anyCall(nodes, path, &p); err != nil {
			return nil, err
		}
		for _, d := range p.Data {
			if out[d.EventID] != nil {
				return nil, fmt.Errorf("event %s has two deliveries to endpoint %s", d.EventID, epID)
			}
			out[d.EventID] = d
		}
		if p.NextCursor == nil || *p.NextCursor == "" {
			return out, nil
		}
		cursor = *p.NextCursor
	}
}

type result struct {
	received, dups, failed, pending, lost int
	examples                              []string
}

// check classifies every (accepted event, endpoint) pair.
func check(nodes []*node, appID string, recvs []*receiver, accepted []string) map[string]*result {
	out := map[string]*result{}
	for _, r := range recvs {
		res := &result{}
		out[r.kind] = res
		r.mu.Lock()
		var missing []string
		for _, id := range accepted {
			if c := r.ok[id]; c > 0 {
				res.received++
				res.dups += c - 1
			} else {
				missing = append(missing, id)
			}
		}
		r.mu.Unlock()
		if len(missing) == 0 {
			continue
		}
		dl, err := listDeliveries(nodes, appID, r.epID)
		if err != nil {
			res.lost += len(missing)
			res.examples = append(res.examples, "cannot list deliveries: "+err.Error())
			continue
		}
		reasons := map[string]int{}
		for _, id := range missing {
			d := dl[id]
			switch {
			case d == nil:
				res.lost++
				if len(res.examples) < 5 {
					res.examples = append(res.examples, "LOST "+id+": no delivery")
				}
			case d.Status == "failed" && d.AttemptCount > 0:
				res.failed++
				if r.kind != "tls" || len(reasons) == 0 {
					reason := failReason(nodes, appID, d)
					if r.kind != "tls" && reasons[reason] == 0 && len(res.examples) < 5 {
						res.examples = append(res.examples, fmt.Sprintf("failed %s %s: %s", id, d.ID, reason))
					}
					reasons[reason]++
				}
			case d.Status == "pending":
				// Not lost, not done: only the TLS endpoint may be left so
				// (the run fails if any other is).
				res.pending++
				if d.AttemptCount > 0 && len(res.examples) == 0 {
					res.examples = append(res.examples, fmt.Sprintf("pending %s %s: %s", id, d.ID, failReason(nodes, appID, d)))
				}
			default:
				res.lost++
				if len(res.examples) < 5 {
					res.examples = append(res.examples, fmt.Sprintf("LOST %s %s: status %s, %d attempts, receiver saw it %d times", id, d.ID, d.Status, d.AttemptCount, r.seen[id]))
				}
			}
		}
		if r.kind == "tls" {
			for k := range reasons {
				res.examples = append(res.examples, "e.g. "+k)
			}
		}
	}
	return out
}

func failReason(nodes []*node, appID string, d *delivery) string {
	var full delivery
	if err := anyCall(nodes, "/v1/apps/"+appID+"/deliveries/"+d.ID, &full); err != nil {
		return "cannot read: " + err.Error()
	}
	if len(full.Attempts) == 0 {
		return "no attempts recorded"
	}
	a := full.Attempts[len(full.Attempts)-1]
	return fmt.Sprintf("%d attempts, last: status %d kind %q %s", len(full.Attempts), a.ResponseStatus, a.ErrorKind, a.Error)
}

// showGaps is how many retry gaps retryTiming prints (-show-gaps).
var showGaps int

// timing holds retry timing errors in milliseconds, by bucket.
type timing struct {
	normal, afterKill, late []float64
	early                   int
	samples                 int
}

// retryTiming samples deliveries with at least two scheduled attempts on
// the misbehaving endpoints and compares each gap (end of one attempt to
// the start of the next) with the configured wait: the schedule's entry
// plus up to 10% jitter, or exactly the Retry-After of a 429.
func retryTiming(nodes []*node, appID string, recvs []*receiver, kills []killRecord) *timing {
	t := &timing{}
	for _, r := range recvs {
		if r.kind == "healthy" || r.kind == "slow" {
			continue
		}
		dl, err := listDeliveries(nodes, appID, r.epID)
		if err != nil {
			continue
		}
		var ids []string
		for _, d := range dl {
			if d.AttemptCount >= 2 {
				ids = append(ids, d.ID)
			}
		}
		sort.Strings(ids)
		if len(ids) > 40 {
			step := len(ids) / 40
			var s []string
			for i := 0; i < len(ids) && len(s) < 40; i += step {
				s = append(s, ids[i])
			}
			ids = s
		}
		for _, id := range ids {
			var d delivery
			if err := anyCall(nodes, "/v1/apps/"+appID+"/deliveries/"+id, &d); err != nil {
				continue
			}
			t.samples++
			k := 0
			for i := 0; i+1 < len(d.Attempts); i++ {
				a, b := d.Attempts[i], d.Attempts[i+1]
				if a.Trigger != "scheduled" {
					continue
				}
				k++
				if b.Trigger != "scheduled" || k-1 >= len(retrySchedule) {
					continue
				}
				end := a.StartedAt.Add(time.Duration(a.DurationMillis) * time.Millisecond)
				gap := b.StartedAt.Sub(end)
				lo := retrySchedule[k-1]
				hi := lo + lo/10
				if a.ResponseStatus == 429 {
					lo, hi = time.Second, time.Second
				}
				var e time.Duration
				switch {
				case gap < lo:
					e = lo - gap
					if e > 20*time.Millisecond {
						t.early++
					}
				case gap > hi:
					e = gap - hi
				}
				ms := float64(e) / float64(time.Millisecond)
				nearKill := false
				for _, kr := range kills {
					if end.Before(kr.ready) && b.StartedAt.After(kr.at) {
						nearKill = true
					}
				}
				if showGaps > 0 {
					showGaps--
					fmt.Printf("  gap %s %s #%d->#%d (status %d %s): %s, want %s..%s, near kill %v\n", r.kind, d.ID, a.Number, b.Number,
						a.ResponseStatus, a.ErrorKind, gap.Round(time.Millisecond), lo, hi, nearKill)
				}
				switch {
				case nearKill:
					t.afterKill = append(t.afterKill, ms)
				case e > time.Second:
					t.late = append(t.late, ms)
				default:
					t.normal = append(t.normal, ms)
				}
			}
		}
	}
	return t
}

func stats(v []float64) string {
	if len(v) == 0 {
		return "none"
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return fmt.Sprintf("%d gaps, median %.0f ms, max %.0f ms", len(s), s[len(s)/2], s[len(s)-1])
}

func (t *timing) print() {
	fmt.Printf("retry timing error (%d sampled deliveries; 0 = within wait..wait+10%%, 429: exactly Retry-After 1s)\n", t.samples)
	fmt.Printf("  no kill nearby, <=1s off: %s\n", stats(t.normal))
	fmt.Printf("  no kill nearby, >1s late: %s (circuit breaker cooldown or a slow claim)\n", stats(t.late))
	fmt.Printf("  spanning a kill (+lease): %s\n", stats(t.afterKill))
	fmt.Printf("  gaps shorter than the wait by >20ms: %d\n", t.early)
}
