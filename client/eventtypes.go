package client

import (
	"context"
	"iter"
)

// ListEventTypes iterates over the event type catalog, following the
// cursor from page to page (params may include archived types, or be
// nil). An error ends the iteration.
func (c *Client) ListEventTypes(ctx context.Context, params *ListEventTypesParams) iter.Seq2[EventType, error] {
	p := orZero(params)
	return paginate(ctx, p.Cursor, func(ctx context.Context, cursor *string) ([]EventType, *string, error) {
		p.Cursor = cursor
		page, err := c.ListEventTypesPage(ctx, &p)
		if err != nil {
			return nil, nil, err
		}
		return page.Data, page.NextCursor, nil
	})
}

// ListEventTypesPage returns one page of the catalog, with the cursor of
// the next.
func (c *Client) ListEventTypesPage(ctx context.Context, params *ListEventTypesParams) (*ListEventType, error) {
	return decode[ListEventType](c.raw.ClientInterface.ListEventTypes(ctx, params))
}

// GetEventType returns the event type of this name (e.g. invoice.paid).
func (c *Client) GetEventType(ctx context.Context, name string) (*EventType, error) {
	return decode[EventType](c.raw.ClientInterface.GetEventType(ctx, name))
}

// CreateEventType adds an event type to the catalog.
func (c *Client) CreateEventType(ctx context.Context, req EventTypeCreateRequest) (*EventType, error) {
	return decode[EventType](c.raw.ClientInterface.CreateEventType(ctx, req))
}

// UpdateEventType changes the event type's fields that req sets (a JSON
// merge patch); Archived false restores an archived type.
func (c *Client) UpdateEventType(ctx context.Context, name string, req EventTypePatchRequest) (*EventType, error) {
	return decode[EventType](c.raw.ClientInterface.UpdateEventType(ctx, name, req))
}

// ArchiveEventType archives the event type (DELETE keeps it, archived).
func (c *Client) ArchiveEventType(ctx context.Context, name string) error {
	return noContent(c.raw.ClientInterface.ArchiveEventType(ctx, name))
}

// ImportEventTypes loads one of hookd's built-in packs of event types into
// the catalog (all or nothing; types defined differently are a 409 unless
// req.Replace).
func (c *Client) ImportEventTypes(ctx context.Context, req CatalogImportRequest) (*ImportResult, error) {
	return decode[ImportResult](c.raw.ClientInterface.ImportEventTypes(ctx, req))
}
