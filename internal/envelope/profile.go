package envelope

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

// Spec is the effective body setting of one delivery: a jq program
// (Envelope) when set, else a built-in profile. Resolve fills exactly one
// of the two.
type Spec struct {
	// Profile names a built-in body shape (one of hook.Profiles); ""
	// means hook.ProfileHookd.
	Profile string
	// Envelope is a jq program over Input; it wins over Profile.
	Envelope string
}

// Resolve returns the body setting a delivery of app to ep uses. The first
// one set wins: the endpoint's Envelope, the endpoint's Profile, the app's
// Envelope, the app's Profile; with none, hook.ProfileHookd. Either
// argument may be nil.
func Resolve(app *hook.App, ep *hook.Endpoint) Spec {
	if ep != nil {
		if ep.Envelope != "" {
			return Spec{Envelope: ep.Envelope}
		}
		if ep.Profile != "" {
			return Spec{Profile: ep.Profile}
		}
	}
	if app != nil {
		if app.Envelope != "" {
			return Spec{Envelope: app.Envelope}
		}
		if app.Profile != "" {
			return Spec{Profile: app.Profile}
		}
	}
	return Spec{Profile: hook.ProfileHookd}
}

// appendProfile appends the body of the built-in profile name for c.
func appendProfile(b []byte, name string, c *Context) ([]byte, error) {
	switch name {
	case "", hook.ProfileHookd:
		return AppendDefault(b, c.Event), nil
	case hook.ProfileReflow:
		return appendReflow(b, c), nil
	case hook.ProfileOpenTiendas:
		return appendOpenTiendas(b, c.Event), nil
	case hook.ProfileFlo:
		return appendFlo(b, c), nil
	case hook.ProfileFlexprice:
		return appendFlexprice(b, c.Event), nil
	}
	return b, fmt.Errorf("envelope: unknown profile %q", name)
}

// appendReflow appends a Stripe-like event object, as Reflow sends:
//
//	{"id","object":"event","api-version","created","data":{"object"[,"previous_attributes"]},
//	 "livemode","request_id","type"}
//
// data.previous_attributes is there on *.updated events only;
// api-version is ReflowAPIVersion when neither the event nor its app has
// one.
func appendReflow(b []byte, c *Context) []byte {
	ev := c.Event
	b = append(b, `{"id":`...)
	b = appendString(b, ev.ID)
	b = append(b, `,"object":"event","api-version":`...)
	// Reflow's events always carry one: an event whose app names none
	// (an app from before the default, or an endpoint that chose reflow
	// for an app of another profile) has Reflow's.
	b = appendString(b, cmp.Or(apiVersion(c), ReflowAPIVersion))
	b = append(b, `,"created":`...)
	b = strconv.AppendInt(b, ev.CreatedAt.Unix(), 10)
	b = append(b, `,"data":{"object":`...)
	b = appendData(b, ev.Data)
	if strings.HasSuffix(ev.Type, ".updated") {
		b = append(b, `,"previous_attributes":`...)
		if absent(ev.PreviousAttributes) {
			b = append(b, "{}"...)
		} else {
			b = append(b, ev.PreviousAttributes...)
		}
	}
	b = append(b, `},"livemode":`...)
	b = strconv.AppendBool(b, ev.Livemode)
	b = append(b, `,"request_id":`...)
	b = appendStringOrNull(b, ev.RequestID)
	b = append(b, `,"type":`...)
	b = appendString(b, ev.Type)
	return append(b, '}')
}

// appendOpenTiendas appends OpenTiendas' envelope
// {"id"|"event_id","type","created_at","data"}: order events name the id
// "id", every other event "event_id" (as the provider's samples do), and
// created_at is RFC 3339 in UTC with whole seconds.
func appendOpenTiendas(b []byte, ev *hook.Event) []byte {
	if strings.HasPrefix(ev.Type, "order.") {
		b = append(b, `{"id":`...)
	} else {
		b = append(b, `{"event_id":`...)
	}
	b = appendString(b, ev.ID)
	b = append(b, `,"type":`...)
	b = appendString(b, ev.Type)
	b = append(b, `,"created_at":"`...)
	b = ev.CreatedAt.UTC().AppendFormat(b, time.RFC3339)
	b = append(b, `","data":`...)
	b = appendData(b, ev.Data)
	return append(b, '}')
}

// appendFlo appends Flo's normalized contract:
//
//	{"eventId","eventType","objectType","version":"v1","createdAt","user",
//	 <objectType>[,"invoiceDetails"][,"subscription"][,"item"]}
//
// eventId is the delivery's id (Flo's "delivery record for the webhook
// sent to that endpoint"; the event id when the context has no delivery).
// user and the resource named by objectType are lifted from data (null
// when absent); invoiceDetails only when data has it; on invoice events,
// root-level subscription and item when data has them (FloDataKeys). Other
// keys of data are not sent: the API refuses them at publish for apps
// with the flo profile (CheckForProfile).
func appendFlo(b []byte, c *Context) []byte {
	ev := c.Event
	objectType := family(ev.Type)
	// Data that is not an object has nothing to lift.
	fields, _ := scanObject(ev.Data)
	id := c.DeliveryID
	if id == "" {
		id = ev.ID
	}
	b = append(b, `{"eventId":`...)
	b = appendString(b, id)
	b = append(b, `,"eventType":`...)
	b = appendString(b, ev.Type)
	b = append(b, `,"objectType":`...)
	b = appendString(b, objectType)
	b = append(b, `,"version":"v1","createdAt":"`...)
	b = ev.CreatedAt.UTC().AppendFormat(b, TimeFormat)
	b = append(b, `","user":`...)
	b = appendRawOrNull(b, fields.get("user"))
	// Keys already written are not written twice, whatever the type's
	// first segment is.
	switch objectType {
	case "eventId", "eventType", "objectType", "version", "createdAt", "user":
	default:
		b = append(b, ',')
		b = appendString(b, objectType)
		b = append(b, ':')
		b = appendRawOrNull(b, fields.get(objectType))
	}
	for _, k := range floExtras(objectType) {
		if v := fields.get(k); v != nil && k != objectType {
			b = append(b, ',')
			b = appendString(b, k)
			b = append(b, ':')
			b = append(b, v...)
		}
	}
	return append(b, '}')
}

// appendFlexprice appends Flexprice's consistent format
// {"webhook_type","object_type","data":{"object"}}.
func appendFlexprice(b []byte, ev *hook.Event) []byte {
	b = append(b, `{"webhook_type":`...)
	b = appendString(b, ev.Type)
	b = append(b, `,"object_type":`...)
	b = appendString(b, family(ev.Type))
	b = append(b, `,"data":{"object":`...)
	b = appendData(b, ev.Data)
	return append(b, "}}"...)
}

// family returns an event type's first dot segment ("invoice" of
// "invoice.paid").
func family(eventType string) string {
	f, _, _ := strings.Cut(eventType, ".")
	return f
}

// apiVersion is the event's API version, else its app's.
func apiVersion(c *Context) string {
	if c.Event.APIVersion != "" {
		return c.Event.APIVersion
	}
	if c.App != nil {
		return c.App.APIVersion
	}
	return ""
}

// appendData appends event data as stored, {} when there is none.
func appendData(b []byte, data json.RawMessage) []byte {
	if len(data) == 0 {
		return append(b, "{}"...)
	}
	return append(b, data...)
}

// absent reports whether an optional JSON value was not given.
func absent(v json.RawMessage) bool {
	return len(v) == 0 || string(v) == "null"
}

func appendRawOrNull(b []byte, v json.RawMessage) []byte {
	if len(v) == 0 {
		return append(b, "null"...)
	}
	return append(b, v...)
}

func appendStringOrNull(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}
