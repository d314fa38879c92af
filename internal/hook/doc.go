// Package hook holds hookd's domain: the types a webhook service is made of
// (App, EventType, Endpoint, Event, Delivery, Attempt) and the rules that
// govern them (names, subscription filters, the retry schedule, what an
// attempt's outcome means). It imports no SQL and no HTTP: the store and the
// API are written in its terms, and errors raised here carry a Code that the
// API edge maps to an HTTP status.
package hook
