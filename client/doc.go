// Package client is hookd's Go client for the /v1 REST API.
//
//	hookd, err := client.New("https://hooks.example.com", apiKey)
//	app, err := hookd.CreateApp(ctx, client.AppCreateRequest{Name: "Acme"})
//	for d, err := range hookd.ListDeliveries(ctx, app.ID, nil) { ... }
//
// [Client] has a method for each everyday call (apps, endpoints and their
// secrets, events, deliveries and attempts, event types, API keys, portal
// links, stats), taking a context and typed requests; an app is named by
// its id or its uid. Lists are iterators ([iter.Seq2]) that follow the
// cursor from page to page (ListApps, ...), or one page at a time
// (ListAppsPage, ...). Answers other than 2xx are returned as [*Error]:
// the RFC 9457 problem hookd sent, with the fields at fault. Idempotent
// calls answered 429 or 503 are retried after their Retry-After: see
// [RetryPolicy].
//
// The types, and every operation as [Client.Raw] offers it, are generated
// (generated.go) by oapi-codegen from openapi.json, hookd's own OpenAPI
// document, built from the API's code: `go generate ./client` rebuilds
// both, and the package's tests fail when either is stale.
package client
