package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	full := errors.New("disk full")
	reason := func(err error) (string, bool) {
		if errors.Is(err, full) {
			return "the database is full", true
		}
		return "", false
	}
	wrapped := Unavailable("the database is busy", errors.New("locked"))
	for _, c := range []struct {
		name   string
		err    error
		reason string // "" for not unavailable
	}{
		{"nil", nil, ""},
		{"classified", fmt.Errorf("insert: %w", full), "the database is full"},
		{"other", errors.New("syntax error"), ""},
		{"already unavailable keeps its reason", fmt.Errorf("x: %w", wrapped), "the database is busy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got := Classify(c.err, reason)
			ue, ok := AsUnavailable(got)
			if ok != (c.reason != "") || (ok && ue.Reason != c.reason) {
				t.Fatalf("Classify(%v) = %v, want reason %q", c.err, got, c.reason)
			}
			if ok != errors.Is(got, ErrUnavailable) {
				t.Fatalf("errors.Is(%v, ErrUnavailable) = %v", got, !ok)
			}
			if c.err != nil && !errors.Is(got, c.err) {
				t.Fatalf("Classify lost %v", c.err)
			}
		})
	}
}

func TestWriteHealth(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	down := Unavailable("the database is full", errors.New("SQLITE_FULL"))
	ok := func(context.Context) error { return nil }

	var h WriteHealth
	probes := 0
	probe := func(err error) func(context.Context) error {
		return func(context.Context) error { probes++; return err }
	}
	if err := h.Check(ctx, ok, probe(nil)); err != nil || probes != 0 {
		t.Fatalf("fresh: %v, %d probes; want ready without a probe", err, probes)
	}
	h.Record(errors.New("a constraint"))
	h.Record(nil)
	if err := h.Check(ctx, ok, probe(nil)); err != nil || probes != 0 {
		t.Fatalf("after other errors: %v, %d probes; want ready without a probe", err, probes)
	}

	h.Record(fmt.Errorf("insert: %w", down))
	if err := h.Check(ctx, ok, probe(down)); !errors.Is(err, ErrUnavailable) || probes != 1 {
		t.Fatalf("probe fails: %v, %d probes; want unavailable after 1 probe", err, probes)
	}
	pingErr := errors.New("ping failed")
	if err := h.Check(ctx, func(context.Context) error { return pingErr }, probe(nil)); err != pingErr || probes != 1 {
		t.Fatalf("ping fails: %v, %d probes; want the ping's error, no probe", err, probes)
	}
	// A write that fails while the probe runs keeps the store not ready.
	racing := func(context.Context) error { probes++; h.Record(down); return nil }
	if err := h.Check(ctx, ok, racing); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("a write failed during the probe: %v, want unavailable", err)
	}
	if err := h.Check(ctx, ok, probe(nil)); err != nil {
		t.Fatalf("probe succeeds: %v, want ready", err)
	}
	n := probes
	if err := h.Check(ctx, ok, probe(down)); err != nil || probes != n {
		t.Fatalf("once ready: %v, %d probes; want ready without a probe", err, probes-n)
	}
}
