package store

import (
	"strings"
	"time"
)

// AttemptArm is one source of an app's attempts list, for the backends'
// ListAttempts: attempt rows, or the first-try successes kept on their
// deliveries' rows (issue 18). It names the SQL of each column the list
// selects or filters on; both arms share one seq, so their union sorts in
// one order with one cursor.
type AttemptArm struct {
	// From is the FROM clause, with a WHERE if every row of the arm
	// meets a condition.
	From string
	// AppKey, when set, turns the app argument into what AppID is
	// compared with (e.g. the app's seq); nil compares the app id.
	AppKey func(app string) string
	Seq, ID, AppID, DeliveryID, EventID, EndpointID, EventSeq, Number, Trigger,
	StartedAt, DurationMS, ResponseStatus, ResponseBody, ErrorKind, ErrorMsg string
}

// AttemptRowsArm is the attempt rows' arm, with their deliveries: the
// same tables and columns on every backend.
var AttemptRowsArm = AttemptArm{
	From: "attempts a JOIN deliveries d ON d.id = a.delivery_id",
	Seq:  "a.seq", ID: "a.id", AppID: "a.app_id", DeliveryID: "a.delivery_id", EventID: "d.event_id",
	EndpointID: "d.endpoint_id", EventSeq: "d.event_seq", Number: "a.number", Trigger: "a.trigger_kind",
	StartedAt: "a.started_at", DurationMS: "a.duration_ms", ResponseStatus: "a.response_status",
	ResponseBody: "a.response_body", ErrorKind: "a.error_kind", ErrorMsg: "a.error",
}

// AttemptFilters are ListAttemptsParams' filters as the backend's bound
// arguments (placeholders), "" for a filter not set, and Class the
// status class's condition on a column named response_status.
type AttemptFilters struct {
	App, Endpoint, Delivery, EventID, Kind, Since, Until, Below, Class string
	// Arms leaves out the inline arm when an error kind is asked for:
	// an inline attempt has none.
	inlineToo bool
}

// BindAttemptFilters binds p's filters with arg (which returns the
// placeholder of the value it is given) in the order App, Endpoint,
// Delivery, EventID, Kind, Since, Until, Below; times go through timeArg.
func BindAttemptFilters(p *ListAttemptsParams, below int64, arg func(any) string, timeArg func(time.Time) any) (*AttemptFilters, error) {
	f := &AttemptFilters{App: arg(p.AppID), inlineToo: p.ErrorKind == ""}
	opt := func(v string) string {
		if v == "" {
			return ""
		}
		return arg(v)
	}
	f.Endpoint, f.Delivery, f.EventID, f.Kind = opt(p.EndpointID), opt(p.DeliveryID), opt(p.EventID), opt(p.ErrorKind)
	if !p.Since.IsZero() {
		f.Since = arg(timeArg(p.Since))
	}
	if !p.Until.IsZero() {
		f.Until = arg(timeArg(p.Until))
	}
	f.Below = arg(below)
	if p.StatusClass != "" {
		c, err := StatusClassCondition(p.StatusClass)
		if err != nil {
			return nil, err
		}
		f.Class = c
	}
	return f, nil
}

// Arms returns the arms a list with these filters reads: rows, and inline
// unless an error kind is asked for.
func (f *AttemptFilters) Arms(rows, inline AttemptArm) []AttemptArm {
	if f.inlineToo {
		return []AttemptArm{rows, inline}
	}
	return []AttemptArm{rows}
}

// Select returns the arm's SELECT of the listed columns (id, delivery,
// event, endpoint, number, trigger, started, duration, status, body, error
// kind, error, and seq AS seq) under the filters, without ORDER BY.
func (a AttemptArm) Select(f *AttemptFilters) string {
	appKey := f.App
	if a.AppKey != nil {
		appKey = a.AppKey(f.App)
	}
	conds := []string{a.AppID + " = " + appKey, a.Seq + " < " + f.Below}
	add := func(v, cond string) {
		if v != "" {
			conds = append(conds, cond)
		}
	}
	add(f.Endpoint, a.EndpointID+" = "+f.Endpoint)
	add(f.Delivery, a.DeliveryID+" = "+f.Delivery)
	add(f.EventID, a.EventSeq+" = (SELECT seq FROM events WHERE app_id = "+f.App+" AND id = "+f.EventID+")")
	add(f.Class, strings.Replace(f.Class, "response_status", a.ResponseStatus, 1))
	add(f.Kind, a.ErrorKind+" = "+f.Kind)
	add(f.Since, a.StartedAt+" >= "+f.Since)
	add(f.Until, a.StartedAt+" < "+f.Until)
	where := " WHERE "
	if strings.Contains(a.From, " WHERE ") {
		where = " AND "
	}
	return "SELECT " + strings.Join([]string{a.ID, a.DeliveryID, a.EventID, a.EndpointID, a.Number, a.Trigger,
		a.StartedAt, a.DurationMS, a.ResponseStatus, a.ResponseBody, a.ErrorKind, a.ErrorMsg, a.Seq + " AS seq"}, ", ") +
		" FROM " + a.From + where + strings.Join(conds, " AND ")
}
