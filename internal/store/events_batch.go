package store

import (
	"errors"
	"fmt"

	"github.com/hookd/hookd/internal/hook"
)

// InsertEventsParams stores several events, each with its deliveries, in
// one transaction (see Store.InsertEvents).
type InsertEventsParams struct {
	// Events are the items of the batch, in order; each is exactly what
	// InsertEvent takes (its own Owner and LeaseUntil for the claimed
	// deliveries included).
	Events []InsertEventParams
}

// ItemError locates err, the failure of item i of an InsertEvents batch, in
// the batch: a *hook.Error keeps its code and message and gets its field
// under "events[i]" ("events[3]", "events[3].deliveries[0].id"); any
// other error is wrapped with the same prefix (errors.Is and errors.As
// still see it). Nil stays nil.
func ItemError(i int, err error) error {
	if err == nil {
		return nil
	}
	item := fmt.Sprintf("events[%d]", i)
	var he *hook.Error
	if errors.As(err, &he) {
		field := item
		if he.Field != "" {
			field += "." + he.Field
		}
		return &hook.Error{Code: he.Code, Field: field, Message: he.Message}
	}
	return fmt.Errorf("%s: %w", item, err)
}
