package client

import (
	"context"
	"iter"
)

// PublishedEvent is a published event, and whether hookd had it already
// (an idempotent replay: the event of the same id was stored before, and
// is returned as stored).
type PublishedEvent struct {
	Event
	Replayed bool
}

// PublishEvent publishes an event to the app: hookd stores it and delivers
// it to the app's subscribed endpoints.
//
// When ev.ID is set it is also sent as the Idempotency-Key header: the
// event is published once however often it is sent, so the call is
// retried on 429 and 503 like an idempotent one. Without an id, hookd
// makes one, and the call is not retried.
func (c *Client) PublishEvent(ctx context.Context, app string, ev EventCreateRequest) (*PublishedEvent, error) {
	var params *CreateEventParams
	if ev.ID != nil && *ev.ID != "" {
		params = &CreateEventParams{IdempotencyKey: ev.ID}
	}
	resp, err := c.raw.ClientInterface.CreateEvent(ctx, app, params, ev)
	var replayed bool
	if err == nil {
		replayed = resp.Header.Get("Idempotent-Replayed") == "true"
	}
	e, err := decode[Event](resp, err)
	if err != nil {
		return nil, err
	}
	return &PublishedEvent{Event: *e, Replayed: replayed}, nil
}

// PublishEvents publishes several events to the app at once: either all
// are stored, or none is (the *Error locates the faulty one, at
// body.events[i]). It is not retried.
func (c *Client) PublishEvents(ctx context.Context, app string, evs []EventCreateRequest) ([]EventBatchItem, error) {
	r, err := decode[EventBatchResponse](c.raw.ClientInterface.CreateEventBatch(ctx, app, EventBatchRequest{Events: evs}))
	if err != nil {
		return nil, err
	}
	return r.Data, nil
}

// GetEvent returns the app's event id.
func (c *Client) GetEvent(ctx context.Context, app, id string) (*Event, error) {
	return decode[Event](c.raw.ClientInterface.GetEvent(ctx, app, id))
}

// ListEvents iterates over the app's events, newest first, following the
// cursor from page to page (params may filter, or be nil). An error ends
// the iteration.
func (c *Client) ListEvents(ctx context.Context, app string, params *ListEventsParams) iter.Seq2[Event, error] {
	p := orZero(params)
	return paginate(ctx, p.Cursor, func(ctx context.Context, cursor *string) ([]Event, *string, error) {
		p.Cursor = cursor
		page, err := c.ListEventsPage(ctx, app, &p)
		if err != nil {
			return nil, nil, err
		}
		return page.Data, page.NextCursor, nil
	})
}

// ListEventsPage returns one page of the app's events, with the cursor of
// the next.
func (c *Client) ListEventsPage(ctx context.Context, app string, params *ListEventsParams) (*ListEvent, error) {
	return decode[ListEvent](c.raw.ClientInterface.ListEvents(ctx, app, params))
}

// ResendEvent sends the event again, as new deliveries, to req.Endpoints,
// or to every endpoint subscribed to its type now when that is empty.
func (c *Client) ResendEvent(ctx context.Context, app, id string, req ResendRequest) (*ResendOutputBody, error) {
	return decode[ResendOutputBody](c.raw.ClientInterface.ResendEvent(ctx, app, id, req))
}

// ExpungeEvent replaces the event's data with {} and drops its
// previous_attributes (a customer's request to erase it), keeping the event
// and its deliveries, and returns it.
func (c *Client) ExpungeEvent(ctx context.Context, app, id string) (*Event, error) {
	return decode[Event](c.raw.ClientInterface.ExpungeEvent(ctx, app, id))
}
