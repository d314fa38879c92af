package client

import (
	"context"
	"iter"
)

// ListAPIKeys iterates over the API keys (never their secrets), following
// the cursor from page to page (params may be nil). An error ends the
// iteration.
func (c *Client) ListAPIKeys(ctx context.Context, params *ListAPIKeysParams) iter.Seq2[APIKey, error] {
	p := orZero(params)
	return paginate(ctx, p.Cursor, func(ctx context.Context, cursor *string) ([]APIKey, *string, error) {
		p.Cursor = cursor
		page, err := c.ListAPIKeysPage(ctx, &p)
		if err != nil {
			return nil, nil, err
		}
		return page.Data, page.NextCursor, nil
	})
}

// ListAPIKeysPage returns one page of API keys, with the cursor of the
// next.
func (c *Client) ListAPIKeysPage(ctx context.Context, params *ListAPIKeysParams) (*ListAPIKey, error) {
	return decode[ListAPIKey](c.raw.ClientInterface.ListAPIKeys(ctx, params))
}

// CreateAPIKey creates an API key (an admin key, or one bound to req.App);
// the answer's Key is the only time the key is shown.
func (c *Client) CreateAPIKey(ctx context.Context, req APIKeyCreateRequest) (*CreatedAPIKey, error) {
	return decode[CreatedAPIKey](c.raw.ClientInterface.CreateAPIKey(ctx, req))
}

// DeleteAPIKey revokes the API key id.
func (c *Client) DeleteAPIKey(ctx context.Context, id string) error {
	return noContent(c.raw.ClientInterface.DeleteAPIKey(ctx, id))
}
