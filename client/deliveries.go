package client

import (
	"context"
	"iter"
)

// ListDeliveries iterates over the app's deliveries, newest first,
// following the cursor from page to page (params may filter by status,
// endpoint, event, ..., or be nil). An error ends the iteration.
func (c *Client) ListDeliveries(ctx context.Context, app string, params *ListDeliveriesParams) iter.Seq2[Delivery, error] {
	p := orZero(params)
	return paginate(ctx, p.Cursor, func(ctx context.Context, cursor *string) ([]Delivery, *string, error) {
		p.Cursor = cursor
		page, err := c.ListDeliveriesPage(ctx, app, &p)
		if err != nil {
			return nil, nil, err
		}
		return page.Data, page.NextCursor, nil
	})
}

// ListDeliveriesPage returns one page of the app's deliveries, with the
// cursor of the next.
func (c *Client) ListDeliveriesPage(ctx context.Context, app string, params *ListDeliveriesParams) (*ListDelivery, error) {
	return decode[ListDelivery](c.raw.ClientInterface.ListDeliveries(ctx, app, params))
}

// GetDelivery returns the app's delivery dlv with its attempts.
func (c *Client) GetDelivery(ctx context.Context, app, dlv string) (*DeliveryWithAttempts, error) {
	return decode[DeliveryWithAttempts](c.raw.ClientInterface.GetDelivery(ctx, app, dlv))
}

// RetryDelivery gives a succeeded or failed delivery one more attempt,
// now, and makes a pending one due now; it returns the delivery.
func (c *Client) RetryDelivery(ctx context.Context, app, dlv string) (*Delivery, error) {
	return decode[Delivery](c.raw.ClientInterface.RetryDelivery(ctx, app, dlv))
}

// RetryFailedDeliveries gives every failed delivery of the app that req
// selects one more attempt, now (at most 10,000 per call: Truncated says
// more are left), returning how many.
func (c *Client) RetryFailedDeliveries(ctx context.Context, app string, req RetryFailedRequest) (*RetryFailedOutputBody, error) {
	return decode[RetryFailedOutputBody](c.raw.ClientInterface.RetryDeliveries(ctx, app, req))
}

// ListAttempts iterates over the app's delivery attempts, newest first,
// following the cursor from page to page (params may filter, or be nil).
// An error ends the iteration.
func (c *Client) ListAttempts(ctx context.Context, app string, params *ListAttemptsParams) iter.Seq2[Attempt, error] {
	p := orZero(params)
	return paginate(ctx, p.Cursor, func(ctx context.Context, cursor *string) ([]Attempt, *string, error) {
		p.Cursor = cursor
		page, err := c.ListAttemptsPage(ctx, app, &p)
		if err != nil {
			return nil, nil, err
		}
		return page.Data, page.NextCursor, nil
	})
}

// ListAttemptsPage returns one page of the app's delivery attempts, with
// the cursor of the next.
func (c *Client) ListAttemptsPage(ctx context.Context, app string, params *ListAttemptsParams) (*ListAttempt, error) {
	return decode[ListAttempt](c.raw.ClientInterface.ListAttempts(ctx, app, params))
}
