package client

import (
	"context"
	"iter"
	"time"
)

// ListEndpoints iterates over the app's endpoints, following the cursor
// from page to page (params may be nil). An error ends the iteration.
func (c *Client) ListEndpoints(ctx context.Context, app string, params *ListEndpointsParams) iter.Seq2[Endpoint, error] {
	p := orZero(params)
	return paginate(ctx, p.Cursor, func(ctx context.Context, cursor *string) ([]Endpoint, *string, error) {
		p.Cursor = cursor
		page, err := c.ListEndpointsPage(ctx, app, &p)
		if err != nil {
			return nil, nil, err
		}
		return page.Data, page.NextCursor, nil
	})
}

// ListEndpointsPage returns one page of the app's endpoints, with the
// cursor of the next.
func (c *Client) ListEndpointsPage(ctx context.Context, app string, params *ListEndpointsParams) (*ListEndpoint, error) {
	return decode[ListEndpoint](c.raw.ClientInterface.ListEndpoints(ctx, app, params))
}

// GetEndpoint returns the app's endpoint ep (its id or uid).
func (c *Client) GetEndpoint(ctx context.Context, app, ep string) (*Endpoint, error) {
	return decode[Endpoint](c.raw.ClientInterface.GetEndpoint(ctx, app, ep))
}

// CreateEndpoint adds an endpoint to the app.
func (c *Client) CreateEndpoint(ctx context.Context, app string, req EndpointCreateRequest) (*Endpoint, error) {
	return decode[Endpoint](c.raw.ClientInterface.CreateEndpoint(ctx, app, req))
}

// UpdateEndpoint changes the endpoint's fields that req sets (a JSON merge
// patch). Disabled false re-enables an endpoint that hookd disabled.
func (c *Client) UpdateEndpoint(ctx context.Context, app, ep string, req EndpointPatchRequest) (*Endpoint, error) {
	return decode[Endpoint](c.raw.ClientInterface.UpdateEndpoint(ctx, app, ep, req))
}

// DeleteEndpoint deletes the endpoint with its deliveries.
func (c *Client) DeleteEndpoint(ctx context.Context, app, ep string) error {
	return noContent(c.raw.ClientInterface.DeleteEndpoint(ctx, app, ep))
}

// GetEndpointSecret returns the endpoint's signing secret (whsec_...).
func (c *Client) GetEndpointSecret(ctx context.Context, app, ep string) (string, error) {
	s, err := decode[SecretBody](c.raw.ClientInterface.GetEndpointSecret(ctx, app, ep))
	if err != nil {
		return "", err
	}
	return s.Secret, nil
}

// RotateEndpointSecret replaces the endpoint's signing secret (with
// req.Secret, or a new random one) and returns the new secret; the old one
// keeps signing for req.PreviousExpiresIn seconds (the app's overlap when
// unset).
func (c *Client) RotateEndpointSecret(ctx context.Context, app, ep string, req RotateRequest) (string, error) {
	s, err := decode[SecretBody](c.raw.ClientInterface.RotateEndpointSecret(ctx, app, ep, req))
	if err != nil {
		return "", err
	}
	return s.Secret, nil
}

// RecoverEndpoint gives every failed delivery to the endpoint created at
// or after since one more attempt, now, returning how many. A disabled
// endpoint is a conflict (409): enable it first.
func (c *Client) RecoverEndpoint(ctx context.Context, app, ep string, since time.Time) (*RecoverOutputBody, error) {
	return decode[RecoverOutputBody](c.raw.ClientInterface.RecoverEndpoint(ctx, app, ep, RecoverRequest{Since: since}))
}

// ReplayMissing sends the endpoint the app's events in a window that it has
// no delivery of (see ReplayMissingOutputBody for a truncated window).
func (c *Client) ReplayMissing(ctx context.Context, app, ep string, req ReplayMissingRequest) (*ReplayMissingOutputBody, error) {
	return decode[ReplayMissingOutputBody](c.raw.ClientInterface.ReplayMissing(ctx, app, ep, req))
}

// SendTestEvent publishes a test event of the catalog type req.Type to this
// endpoint only, with the type's example payload unless req.Data is set.
func (c *Client) SendTestEvent(ctx context.Context, app, ep string, req TestEventRequest) (*TestEventOutputBody, error) {
	return decode[TestEventOutputBody](c.raw.ClientInterface.SendTestEvent(ctx, app, ep, req))
}

// GetEndpointHeaders returns the endpoint's custom headers with their
// values (other answers mask them).
func (c *Client) GetEndpointHeaders(ctx context.Context, app, ep string) (map[string]string, error) {
	h, err := decode[HeadersBody](c.raw.ClientInterface.GetEndpointHeaders(ctx, app, ep))
	if err != nil {
		return nil, err
	}
	return h.Headers, nil
}
