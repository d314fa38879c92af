package envelope

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/hookd/hookd/internal/hook"
)

// ReflowAPIVersion is the api-version Reflow's reference shows on every
// event ("2023-01-30"): an app with the reflow profile that names none
// gets it, and so does a reflow delivery whose event and app have none.
const ReflowAPIVersion = "2023-01-30"

// CheckForProfile returns what the built-in profile named would not
// deliver of an event of eventType with data (a JSON object) and
// previousAttributes (nil when absent): one *hook.Error with code
// hook.EInvalid per problem, its Field relative to the event's body
// ("data.metadata", "previous_attributes"). The profiles refuse rather
// than drop what they cannot place:
//
//   - flo: every data key but the ones the contract places (FloDataKeys);
//     previous_attributes, which Flo's contract has no place for.
//   - reflow: previous_attributes on a type that is not *.updated (Reflow
//     sends them on *.updated events only).
//
// The other profiles deliver everything an event holds, or have no
// rule here; "" is hook.ProfileHookd.
func CheckForProfile(profile, eventType string, data, previousAttributes json.RawMessage) []error {
	var errs []error
	hasPrev := !absent(previousAttributes)
	switch profile {
	case hook.ProfileFlo:
		placed := FloDataKeys(eventType)
		ms, _ := scanObject(data)
		seen := make(map[string]bool, len(ms))
		for _, m := range ms {
			if slices.Contains(placed, m.key) || seen[m.key] {
				continue
			}
			seen[m.key] = true
			errs = append(errs, hook.Errorf(hook.EInvalid, "data."+m.key,
				"is not part of Flo's contract for %s events, which delivers from data only %s: the flo profile would not send it",
				family(eventType), strings.Join(placed, ", ")))
		}
		if hasPrev {
			errs = append(errs, hook.Errorf(hook.EInvalid, "previous_attributes",
				"has no place in Flo's contract: the flo profile would not send it"))
		}
	case hook.ProfileReflow:
		if hasPrev && !strings.HasSuffix(eventType, ".updated") {
			errs = append(errs, hook.Errorf(hook.EInvalid, "previous_attributes",
				"is sent by the reflow profile on *.updated events only, and %s is not one", eventType))
		}
	}
	return errs
}

// floReserved are the top-level keys of Flo's contract that hookd writes
// itself: a type whose family has one of these names does not lift it
// from data.
var floReserved = []string{"eventId", "eventType", "objectType", "version", "createdAt"}

// FloDataKeys returns the keys of event data the flo profile places in
// the delivered body for eventType, in that order: user; the resource
// named by the type's family (subscription, item, invoice, ...); the
// optional invoiceDetails; and on invoice events the optional root-level
// subscription and item. Flo's pack (internal/catalog/packs/flo.json)
// gives each family's schema these properties.
func FloDataKeys(eventType string) []string {
	f := family(eventType)
	keys := []string{"user"}
	if f != "user" && !slices.Contains(floReserved, f) {
		keys = append(keys, f)
	}
	for _, k := range floExtras(f) {
		if k != f {
			keys = append(keys, k)
		}
	}
	return keys
}

// floExtras are the optional keys the flo profile copies from data when
// present, for events of family f.
func floExtras(f string) []string {
	if f == "invoice" {
		return []string{"invoiceDetails", "subscription", "item"}
	}
	return []string{"invoiceDetails"}
}

// ValidateEventIDForProfile checks an event id a publisher gave (field
// names where: "id", or the Idempotency-Key header) against the id format
// of the app's profile: opentiendas ids are UUID v4, lowercase, as
// OpenTiendas' reference has them (its event_id, "used for
// idempotency"). The error is a *hook.Error with code hook.EInvalid.
func ValidateEventIDForProfile(profile, field, id string) error {
	if profile == hook.ProfileOpenTiendas && !IsUUIDv4(id) {
		return hook.Errorf(hook.EInvalid, field,
			"must be a UUID v4 in lowercase (e.g. 550e8400-e29b-41d4-a716-446655440000): the opentiendas profile delivers it as the event's id")
	}
	return nil
}

// IsUUIDv4 reports whether s is a version 4 UUID of the RFC 9562 variant
// in the canonical lowercase form xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx.
func IsUUIDv4(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
			continue
		case 14:
			if c != '4' {
				return false
			}
			continue
		case 19:
			if c != '8' && c != '9' && c != 'a' && c != 'b' {
				return false
			}
			continue
		}
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
