package api

import (
	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/envelope"
	"github.com/hookd/hookd/internal/hook"
)

// contractDetails returns what app's contract refuses of the event f
// describes, located under prefix ("body", "body.events[3]"):
//
//   - the id, against the id format of the app's profile
//     (envelope.ValidateEventIDForProfile), located at the body's id or,
//     when the id came from it, the Idempotency-Key header;
//   - what the app's profile would drop of data and previous_attributes
//     (envelope.CheckForProfile), when the profile shapes the app's
//     deliveries (the app has no envelope of its own).
//
// The app's settings decide, never an endpoint's: an event is accepted or
// refused once, for every endpoint. An endpoint that chooses another
// profile than its app's gets that profile's view of the app's events
// (for flo: the keys Flo's contract places; the rest is not sent to it).
func contractDetails(app *hook.App, f *eventFields, prefix string) []*huma.ErrorDetail {
	var ds []*huma.ErrorDetail
	if f.id != "" {
		loc, field := prefix, "id"
		if f.idFromHeader {
			loc, field = "header", "Idempotency-Key"
		}
		ds = collect(ds, envelope.ValidateEventIDForProfile(app.Profile, field, f.id), loc, field, f.id)
	}
	spec := envelope.Resolve(app, nil)
	if spec.Envelope == "" {
		for _, err := range envelope.CheckForProfile(spec.Profile, f.typ, f.data, f.prev) {
			ds = append(ds, fieldDetail(err, prefix, "", nil))
		}
	}
	return ds
}

// catalogStrict reports whether app's events must be of a type the
// catalog defines and has not archived: the app's own catalog setting,
// else the deployment's (Config.Catalog).
func (s *server) catalogStrict(app *hook.App) bool {
	c := app.Catalog
	if c == "" {
		c = s.catalog
	}
	return c == hook.CatalogStrict
}

// notInCatalog is the detail refusing an event type a strict catalog
// lacks, located at prefix.type.
func notInCatalog(prefix, typ string) *huma.ErrorDetail {
	return &huma.ErrorDetail{
		Location: joinLoc(prefix, "type"),
		Message: "is not an event type of the catalog (or is archived), and the app's catalog is strict: " +
			"add it (POST /v1/event-types, or import a pack) or unarchive it first",
		Value: typ,
	}
}
