package catalog

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// ImportResult says what an import did, by event type name.
type ImportResult struct {
	Pack      string   `json:"pack"`
	Created   []string `json:"created"`
	Updated   []string `json:"updated"`
	Unchanged []string `json:"unchanged"`
}

// Import loads a pack into the deployment's catalog. Types that are not in
// the catalog are created; types already there with the same definition
// are left alone, so importing twice changes nothing. Types already there
// with another definition (or archived) are a conflict (hook.EConflict on
// field "pack", naming them) unless replace is set, when they are
// replaced. Everything is written in one transaction: all or nothing.
func Import(ctx context.Context, st store.Store, pack string, replace bool, now time.Time) (*ImportResult, error) {
	types, err := Pack(pack)
	if err != nil {
		var he *hook.Error
		if errors.As(err, &he) {
			// A pack named in a request that does not exist is bad
			// input, not a missing resource.
			return nil, hook.Errorf(hook.EInvalid, "pack", "%s", he.Message)
		}
		return nil, err
	}
	existing := make(map[string]*hook.EventType, len(types))
	for _, t := range types {
		et, err := st.GetEventType(ctx, t.Name)
		switch {
		case err == nil:
			existing[t.Name] = et
		case hook.ErrorCode(err) == hook.ENotFound:
		default:
			return nil, err
		}
	}
	plan := Plan(existing, types)
	if len(plan.Conflicts) > 0 && !replace {
		return nil, hook.Errorf(hook.EConflict, "pack",
			"the catalog defines %s differently; import with replace to overwrite them",
			strings.Join(plan.Conflicts, ", "))
	}
	res := &ImportResult{Pack: pack, Created: typeNames(plan.Create), Updated: typeNames(plan.Update), Unchanged: plan.Same}
	if res.Unchanged == nil {
		res.Unchanged = []string{}
	}
	put := append(append([]*hook.EventType{}, plan.Create...), plan.Update...)
	if len(put) == 0 {
		return res, nil
	}
	if _, err := st.PutEventTypes(ctx, &store.PutEventTypesParams{Types: put, Now: now}); err != nil {
		return nil, err
	}
	return res, nil
}

func typeNames(ts []*hook.EventType) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}
