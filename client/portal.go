package client

import "context"

// CreatePortalLink returns a link to the app's consumer portal, to hand to
// the app's owner.
func (c *Client) CreatePortalLink(ctx context.Context, app string, req PortalLinkRequest) (*PortalLink, error) {
	return decode[PortalLink](c.raw.ClientInterface.CreatePortalLink(ctx, app, req))
}

// RevokePortalLinks ends every portal link of the app made so far.
func (c *Client) RevokePortalLinks(ctx context.Context, app string) (*RevokePortalLinksOutputBody, error) {
	return decode[RevokePortalLinksOutputBody](c.raw.ClientInterface.RevokePortalLinks(ctx, app))
}
