package client

import (
	"context"
	"iter"
)

// ListApps iterates over the apps, following the cursor from page to page
// (params may set the page size, Limit, and the first page, Cursor; nil
// starts at the beginning). An error ends the iteration.
func (c *Client) ListApps(ctx context.Context, params *ListAppsParams) iter.Seq2[App, error] {
	p := orZero(params)
	return paginate(ctx, p.Cursor, func(ctx context.Context, cursor *string) ([]App, *string, error) {
		p.Cursor = cursor
		page, err := c.ListAppsPage(ctx, &p)
		if err != nil {
			return nil, nil, err
		}
		return page.Data, page.NextCursor, nil
	})
}

// ListAppsPage returns one page of apps, with the cursor of the next.
func (c *Client) ListAppsPage(ctx context.Context, params *ListAppsParams) (*ListApp, error) {
	return decode[ListApp](c.raw.ClientInterface.ListApps(ctx, params))
}

// GetApp returns the app (its id or uid).
func (c *Client) GetApp(ctx context.Context, app string) (*App, error) {
	return decode[App](c.raw.ClientInterface.GetApp(ctx, app))
}

// CreateApp creates an app.
func (c *Client) CreateApp(ctx context.Context, req AppCreateRequest) (*App, error) {
	return decode[App](c.raw.ClientInterface.CreateApp(ctx, req))
}

// UpdateApp changes the app's fields that req sets (a JSON merge patch).
func (c *Client) UpdateApp(ctx context.Context, app string, req AppPatchRequest) (*App, error) {
	return decode[App](c.raw.ClientInterface.UpdateApp(ctx, app, req))
}

// DeleteApp deletes the app with its endpoints, events and deliveries.
func (c *Client) DeleteApp(ctx context.Context, app string) error {
	return noContent(c.raw.ClientInterface.DeleteApp(ctx, app))
}
