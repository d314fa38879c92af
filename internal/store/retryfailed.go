package store

import "time"

// MaxRetryFailed is the most failed deliveries one RetryFailedDeliveries
// call makes due: the API's bulk retry says "truncated" beyond it, and the
// caller calls again.
const MaxRetryFailed = 10000

// RetryFailedDeliveriesParams makes an app's failed deliveries that match
// the filters due now, as ListDeliveriesParams filters a list ("" or a
// zero time for no filter).
type RetryFailedDeliveriesParams struct {
	AppID      string
	EndpointID string
	// EventID keeps the deliveries of this event (its id, as published).
	EventID string
	// EventTypes keeps the deliveries whose event type matches any of
	// these names or patterns (as ListDeliveriesParams.EventTypes).
	EventTypes []string
	// Since and Until keep the deliveries created in [Since, Until).
	Since time.Time
	Until time.Time
	// Limit bounds how many are made due; 0 or more than MaxRetryFailed
	// means MaxRetryFailed. The oldest (in the order stored) go first.
	Limit int
	Now   time.Time
}

// RetryFailedResult is what RetryFailedDeliveries did.
type RetryFailedResult struct {
	// Retried counts the deliveries made due.
	Retried int
	// Truncated is set when more failed deliveries match than Limit:
	// calling again makes the next ones due.
	Truncated bool
	// SkippedDisabled counts the matching failed deliveries of disabled
	// endpoints, left failed, up to Limit (a count that reaches Limit
	// means "at least").
	SkippedDisabled int
}

// RetryFailedLimit returns the limit a backend applies for p.Limit.
func RetryFailedLimit(limit int) int {
	if limit <= 0 || limit > MaxRetryFailed {
		return MaxRetryFailed
	}
	return limit
}
