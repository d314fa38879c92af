package main

import (
	"fmt"
	"net/url"
	"time"
)

type delivery struct {
	ID            string     `json:"id"`
	EventID       string     `json:"event_id"`
	EndpointID    string     `json:"endpoint_id"`
	Status        string     `json:"status"`
	AttemptCount  int        `json:"attempt_count"`
	LastAttemptAt *time.Time `json:"last_attempt_at"`
	Attempts      []*attempt `json:"attempts"`
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

// result is how one receiver's deliveries ended.
type result struct {
	received, dups, failed, pending, lost int
	// breaches counts the deliveries whose end breaks the receiver's
	// outcome class (lost ones included); breachExamples shows a few.
	breaches       int
	breachExamples []string
	// examples shows a few allowed ends worth a look (the tls receiver's).
	examples []string
	// deliveries are the endpoint's deliveries by event id, nil if they
	// could not be listed.
	deliveries map[string]*delivery
}

// check classifies every (accepted event, endpoint) pair and judges it
// against the receiver's outcome class. recoverAt is when the misbehaving
// receivers recovered for good.
func check(nodes []*node, appID string, recvs []*receiver, accepted []string, recoverAt time.Time) map[string]*result {
	out := map[string]*result{}
	for _, r := range recvs {
		res := &result{}
		out[r.kind] = res
		dl, err := listDeliveries(nodes, appID, r.epID)
		if err != nil {
			res.lost += len(accepted)
			res.breaches += len(accepted)
			res.breachExamples = append(res.breachExamples, "cannot list deliveries: "+err.Error())
			continue
		}
		res.deliveries = dl
		class := receiverClasses[r.kind]
		tlsReasons := map[string]bool{}
		for _, id := range accepted {
			r.mu.Lock()
			answered := r.ok[id]
			r.mu.Unlock()
			if answered > 1 {
				res.dups += answered - 1
			}
			d := dl[id]
			bucket, breach := judge(class, d, answered > 0, recoverAt)
			switch bucket {
			case bucketReceived:
				res.received++
			case bucketFailed:
				res.failed++
			case bucketPending:
				res.pending++
			case bucketLost:
				res.lost++
			}
			if breach != "" {
				res.breaches++
				if len(res.breachExamples) < 5 {
					ex := fmt.Sprintf("event %s: %s", id, breach)
					if d != nil {
						ex = fmt.Sprintf("event %s, delivery %s: %s (%s)", id, d.ID, breach, failReason(nodes, appID, d))
					}
					res.breachExamples = append(res.breachExamples, ex)
				}
				continue
			}
			// The unreachable receiver's allowed ends: a reason or two, for
			// the output.
			if class == unreachable && d != nil && d.AttemptCount > 0 && len(tlsReasons) < 2 {
				if reason := failReason(nodes, appID, d); !tlsReasons[reason] {
					tlsReasons[reason] = true
					res.examples = append(res.examples, "e.g. "+bucket+" "+reason)
				}
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
	return fmt.Sprintf("status %s, %d attempts, last at %s: status %d kind %q %s", full.Status, len(full.Attempts),
		a.StartedAt.Format("15:04:05.000"), a.ResponseStatus, a.ErrorKind, a.Error)
}
