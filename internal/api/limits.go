package api

import (
	"context"
	"fmt"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/catalog"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// The endpoint limit is exact: the store counts an app's endpoints in the
// transaction that creates one, serialized with the app's other creates
// (store.CreateEndpointParams.MaxPerApp), so concurrent creates cannot pass
// it.
//
// The event-type limit is checked here by listing, in pages of
// store.MaxLimit, since the store has no count of them. That check and the
// write are not one transaction: two creates at once can both pass and go
// one over the limit. That is acceptable for a bound on abuse, which needs
// to hold roughly, not exactly.
//
// Reaching a limit is answered 409 Conflict, not 422: the request itself is
// valid, and it is the state of the app or the catalog that refuses it,
// until something is deleted; like hookd's other 409s (a uid or a name
// taken), the same request succeeds once that state changes.

// countUpTo counts what pages of list hold, stopping once it has counted
// limit (so it reads at most limit/MaxLimit+1 pages). list returns one
// page's length and the next cursor ("" on the last page).
func countUpTo(limit int, list func(cursor string) (n int, next string, err error)) (int, error) {
	total, cursor := 0, ""
	for {
		n, next, err := list(cursor)
		if err != nil {
			return 0, err
		}
		total += n
		if next == "" || total >= limit {
			return total, nil
		}
		cursor = next
	}
}

// tooManyEndpoints is the answer to a create the store refused with
// store.ErrEndpointLimit.
func (s *server) tooManyEndpoints() error {
	return huma.Error409Conflict(fmt.Sprintf(
		"the app has %d endpoints, the most an app may have (HOOKD_MAX_ENDPOINTS_PER_APP); delete one first", s.maxEndpoints))
}

// countEventTypes counts the catalog, archived types included (they keep
// their name and come back with PATCH), up to maxTypes.
func (s *server) countEventTypes(ctx context.Context) (int, error) {
	n, err := countUpTo(s.maxTypes, func(cursor string) (int, string, error) {
		p, err := s.store.ListEventTypes(ctx, &store.ListEventTypesParams{
			IncludeArchived: true, ListParams: store.ListParams{Limit: store.MaxLimit, Cursor: cursor}})
		if err != nil {
			return 0, "", err
		}
		return len(p.Data), p.NextCursor, nil
	})
	if err != nil {
		return 0, s.fail(ctx, err, "")
	}
	return n, nil
}

// tooManyEventTypes is the answer when adding types to a catalog of have
// types (counted up to the limit) would pass the limit.
func (s *server) tooManyEventTypes(have, adding int) error {
	msg := fmt.Sprintf("the catalog is full: it holds the most event types it may, %d, archived ones included (HOOKD_MAX_EVENT_TYPES)", s.maxTypes)
	if have < s.maxTypes {
		msg = fmt.Sprintf("the catalog has room for %d more event types (HOOKD_MAX_EVENT_TYPES is %d, archived ones included), and this adds %d",
			s.maxTypes-have, s.maxTypes, adding)
	}
	return huma.Error409Conflict(msg + "; event types are archived, not deleted, so reuse an archived one or raise the limit")
}

// checkEventTypeLimit refuses a new event type when the catalog is full.
// A name the catalog has is left to the store to refuse (a conflict that
// says so).
func (s *server) checkEventTypeLimit(ctx context.Context, name string) error {
	n, err := s.countEventTypes(ctx)
	if err != nil {
		return err
	}
	if n < s.maxTypes {
		return nil
	}
	if _, err := s.store.GetEventType(ctx, name); err == nil {
		return nil
	}
	return s.tooManyEventTypes(n, 1)
}

// checkImportLimit refuses importing a pack whose new types do not fit in
// the catalog. Only near the limit does it look up which of the pack's
// types are new.
func (s *server) checkImportLimit(ctx context.Context, pack string) error {
	types, err := catalog.Pack(pack)
	if err != nil {
		return nil // catalog.Import says what is wrong with the pack
	}
	n, err := s.countEventTypes(ctx)
	if err != nil {
		return err
	}
	if n+len(types) <= s.maxTypes {
		return nil
	}
	added := 0
	for _, t := range types {
		_, err := s.store.GetEventType(ctx, t.Name)
		switch {
		case err == nil:
		case hook.ErrorCode(err) == hook.ENotFound:
			added++
		default:
			return s.fail(ctx, err, "")
		}
	}
	if added > 0 && n+added > s.maxTypes {
		return s.tooManyEventTypes(n, added)
	}
	return nil
}
