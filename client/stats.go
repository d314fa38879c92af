package client

import "context"

// GetStats returns the deployment's delivery statistics (params may set
// the window, the bucket and an endpoint, or be nil).
func (c *Client) GetStats(ctx context.Context, params *GetStatsParams) (*StatsOutputBody, error) {
	return decode[StatsOutputBody](c.raw.ClientInterface.GetStats(ctx, params))
}

// GetAppStats returns the app's delivery statistics (params may be nil).
func (c *Client) GetAppStats(ctx context.Context, app string, params *GetAppStatsParams) (*StatsOutputBody, error) {
	return decode[StatsOutputBody](c.raw.ClientInterface.GetAppStats(ctx, app, params))
}

// Health returns hookd's liveness (/healthz); no key is needed.
func (c *Client) Health(ctx context.Context) (*HealthOutputBody, error) {
	return decode[HealthOutputBody](c.raw.ClientInterface.Healthz(ctx))
}

// Ready returns hookd's readiness (/readyz); a node that is not ready
// answers 503, returned as an [*Error] whose Body has the failing checks.
func (c *Client) Ready(ctx context.Context) (*ReadyOutputBody, error) {
	return decode[ReadyOutputBody](c.raw.ClientInterface.Readyz(ctx))
}
